"""A request's ExpressionAttributeNames and ExpressionAttributeValues: ``#name`` and ``:value``.

:class:`Substitutions` is validated once per request, resolves the placeholders its
expressions use, and knows which went unused (DynamoDB refuses a request that
defines a name or value no expression uses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from replicalab._validate import shown
from replicalab.dynamodb.exceptions import ValidationException
from replicalab.dynamodb.values import Value, to_python

__all__ = ["Substitutions"]


class Substitutions:
    """A request's ExpressionAttributeNames and ExpressionAttributeValues, and which were used.

    Built once per request, shared by all of its expressions. Values are validated and
    converted to Python when the request is read (an empty set there is refused even if
    unused, as DynamoDB refuses it).
    """

    def __init__(self, names: dict[str, str], values: dict[str, Value]) -> None:
        self.names = names
        self.values = values
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()

    def __repr__(self) -> str:
        return f"Substitutions({self.names!r}, {self.values!r})"

    @classmethod
    def from_request(cls, names: Any = None, values: Any = None) -> Substitutions:
        """Check the two maps as DynamoDB does (not empty, keys ``#...`` / ``:...``) and build."""
        checked_names: dict[str, str] = {}
        checked_values: dict[str, Value] = {}
        if names is not None:
            if not isinstance(names, Mapping):
                raise ValidationException(f"ExpressionAttributeNames must be a map, got {shown(names)}")
            if not names:
                raise ValidationException("ExpressionAttributeNames must not be empty")
            for key, name in names.items():
                if not isinstance(key, str) or not re.fullmatch(r"#[A-Za-z0-9_]+", key):
                    raise ValidationException(
                        f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{shown(key)}"')
                if not isinstance(name, str) or not name:
                    raise ValidationException(
                        f"ExpressionAttributeNames contains invalid value: attribute names must be "
                        f"non-empty text, got {shown(name)} for key {key}")
                checked_names[key] = name
        if values is not None:
            if not isinstance(values, Mapping):
                raise ValidationException(f"ExpressionAttributeValues must be a map, got {shown(values)}")
            if not values:
                raise ValidationException("ExpressionAttributeValues must not be empty")
            for key, value in values.items():
                if not isinstance(key, str) or not re.fullmatch(r":[A-Za-z0-9_]+", key):
                    raise ValidationException(
                        f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{shown(key)}"')
                try:
                    checked_values[key] = to_python(value, key)
                except ValidationException as error:
                    raise ValidationException(
                        f"ExpressionAttributeValues contains invalid value: {error.message} for "
                        f"key {key}") from None
        return cls(checked_names, checked_values)

    def name(self, placeholder: str) -> str:
        """The attribute name behind ``#placeholder`` (and remember it was used)."""
        if not isinstance(placeholder, str) or placeholder not in self.names:
            raise ValidationException(
                f"An expression attribute name used in the document path is not defined; "
                f"attribute name: {placeholder if isinstance(placeholder, str) else shown(placeholder)}")
        self.used_names.add(placeholder)
        return self.names[placeholder]

    def value(self, placeholder: str) -> Value:
        """The value behind ``:placeholder`` (and remember it was used)."""
        if not isinstance(placeholder, str) or placeholder not in self.values:
            raise ValidationException(
                f"An expression attribute value used in expression is not defined; "
                f"attribute value: {placeholder if isinstance(placeholder, str) else shown(placeholder)}")
        self.used_values.add(placeholder)
        return self.values[placeholder]

    def check_all_used(self) -> None:
        """Refuse names or values that no expression of the request used, as DynamoDB does."""
        unused_names = sorted(set(self.names) - self.used_names)
        if unused_names:
            raise ValidationException(
                f"Value provided in ExpressionAttributeNames unused in expressions: keys: "
                f"{{{', '.join(unused_names)}}}")
        unused_values = sorted(set(self.values) - self.used_values)
        if unused_values:
            raise ValidationException(
                f"Value provided in ExpressionAttributeValues unused in expressions: keys: "
                f"{{{', '.join(unused_values)}}}")
