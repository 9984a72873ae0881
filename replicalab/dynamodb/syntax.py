"""The parsed forms of DynamoDB's expressions: paths, operands, update actions and conditions.

Small frozen values that :mod:`replicalab.dynamodb.expressions` builds and
:mod:`replicalab.dynamodb.evaluate` reads; each prints as the expression text it
stands for. Nothing here parses or evaluates.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

import attrs

from replicalab.dynamodb.values import Value, number_text

__all__ = [
    "Action", "Add", "And", "Arithmetic", "Between", "Compare", "Condition", "Delete", "Function",
    "IfNotExists", "In", "ListAppend", "Literal", "Not", "Operand", "Or", "Path", "Remove", "Set",
    "SetOperand", "SetValue", "Size", "UpdateExpression", "literal_text",
]


@attrs.frozen
class Path:
    """A document path, resolved: map keys are ``str``, list indexes ``int``."""

    elements: tuple[str | int, ...]
    #: True for a path written as one ``#name`` and nothing else (see :func:`_check_paths`).
    bare_placeholder: bool = attrs.field(default=False, eq=False)

    def __str__(self) -> str:
        text = ""
        for element in self.elements:
            text += f"[{element}]" if isinstance(element, int) else (
                f".{element}" if text else element)
        return text

    def described(self) -> str:
        """The path as DynamoDB prints it in errors: ``[a, b, [0]]``."""
        return "[" + ", ".join(f"[{e}]" if isinstance(e, int) else e for e in self.elements) + "]"


@attrs.frozen
class Literal:
    """A value from ``ExpressionAttributeValues``, converted to its Python form."""

    value: Value
    placeholder: str = attrs.field(eq=False)

    def __str__(self) -> str:
        return literal_text(self.value)


def literal_text(value: Value) -> str:
    """A value as it reads in an expression's text (traces, messages): Python's literal syntax,
    numbers as DynamoDB writes them, a set's elements sorted (so the text never depends on
    hash order).

        >>> from decimal import Decimal
        >>> literal_text({"v": Decimal("17"), "tags": frozenset({"b", "a"}), "n": [Decimal("0.5")]})
        "{'n': [0.5], 'tags': {'a', 'b'}, 'v': 17}"
    """
    if isinstance(value, Decimal):
        return number_text(value)
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(literal_text(v) for v in value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {literal_text(v)}" for k, v in sorted(value.items())) + "}"
    return repr(value)  # str, bytes, bool, None


@attrs.frozen
class IfNotExists:
    """``if_not_exists(path, default)``: the path's value, or ``default`` if it has none."""

    path: Path
    default: SetOperand

    def __str__(self) -> str:
        return f"if_not_exists({self.path}, {self.default})"


@attrs.frozen
class ListAppend:
    """``list_append(left, right)``: the two lists concatenated."""

    left: SetOperand
    right: SetOperand

    def __str__(self) -> str:
        return f"list_append({self.left}, {self.right})"


@attrs.frozen
class Arithmetic:
    """``left + right`` or ``left - right`` on numbers."""

    operator: str
    left: SetOperand
    right: SetOperand

    def __str__(self) -> str:
        return f"{self.left} {self.operator} {self.right}"


@attrs.frozen
class Size:
    """``size(path)``: length of a string or binary, or the number of members or elements."""

    path: Path

    def __str__(self) -> str:
        return f"size({self.path})"


SetOperand: TypeAlias = "Path | Literal | IfNotExists | ListAppend"
SetValue: TypeAlias = "SetOperand | Arithmetic"
Operand: TypeAlias = "Path | Literal | Size"


@attrs.frozen
class Set:
    """``SET path = value``."""

    path: Path
    value: SetValue

    def __str__(self) -> str:
        return f"SET {self.path} = {self.value}"


@attrs.frozen
class Remove:
    """``REMOVE path``."""

    path: Path

    def __str__(self) -> str:
        return f"REMOVE {self.path}"


@attrs.frozen
class Add:
    """``ADD path value``: add a number, or union a set."""

    path: Path
    value: Literal

    def __str__(self) -> str:
        return f"ADD {self.path} {self.value}"


@attrs.frozen
class Delete:
    """``DELETE path value``: remove a set's members (the attribute goes when none remain)."""

    path: Path
    value: Literal

    def __str__(self) -> str:
        return f"DELETE {self.path} {self.value}"


Action: TypeAlias = "Set | Remove | Add | Delete"


@attrs.frozen
class UpdateExpression:
    """A parsed UpdateExpression: its actions in the order written."""

    actions: tuple[Action, ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        """The paths the expression writes, one per action."""
        return tuple(action.path for action in self.actions)


@attrs.frozen
class Compare:
    """``left <op> right`` for one of ``= <> < <= > >=``."""

    operator: str
    left: Operand
    right: Operand

    def __str__(self) -> str:
        return f"{self.left} {self.operator} {self.right}"


@attrs.frozen
class Between:
    """``operand BETWEEN low AND high`` (inclusive)."""

    operand: Operand
    low: Operand
    high: Operand

    def __str__(self) -> str:
        return f"{self.operand} BETWEEN {self.low} AND {self.high}"


@attrs.frozen
class In:
    """``operand IN (choice, ...)``."""

    operand: Operand
    choices: tuple[Operand, ...]

    def __str__(self) -> str:
        return f"{self.operand} IN ({', '.join(map(str, self.choices))})"


@attrs.frozen
class Function:
    """A boolean function: attribute_exists, attribute_not_exists, attribute_type, begins_with, contains."""

    name: str
    arguments: tuple[Operand, ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.arguments))})"


@attrs.frozen
class Not:
    """``NOT condition``."""

    condition: Condition

    def __str__(self) -> str:
        return f"NOT ({self.condition})"


@attrs.frozen
class And:
    """``left AND right``."""

    left: Condition
    right: Condition

    def __str__(self) -> str:
        return f"({self.left}) AND ({self.right})"


@attrs.frozen
class Or:
    """``left OR right``."""

    left: Condition
    right: Condition

    def __str__(self) -> str:
        return f"({self.left}) OR ({self.right})"


Condition: TypeAlias = "Compare | Between | In | Function | Not | And | Or"
