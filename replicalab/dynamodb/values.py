"""DynamoDB attribute values: DynamoDB JSON (``{"N": "17"}``) to Python values and back.

The Python side is the one boto3's ``TypeDeserializer`` produces, with sets frozen:

=========  ===================================  ==================================
DynamoDB   Python                               rules
=========  ===================================  ==================================
``S``      ``str``
``N``      ``decimal.Decimal``, canonical       at most 38 significant digits,
                                                magnitude 1E-130 .. <1E+126, or 0
``B``      ``bytes``                            base64 text is accepted on input
``BOOL``   ``bool``
``NULL``   ``None``                             ``{"NULL": true}`` only
``M``      ``dict[str, value]``                 at most 32 levels of nesting
``L``      ``list[value]``
``SS``     ``frozenset[str]``                   never empty, no duplicates
``NS``     ``frozenset[Decimal]``               never empty, no duplicates
``BS``     ``frozenset[bytes]``                 never empty, no duplicates
=========  ===================================  ==================================

A number is stored in canonical form: ``"1.50"``, ``"15E-1"`` and ``"+1.5"`` are all
``Decimal("1.5")``, and it serializes back as ``"1.5"`` (plain notation, no trailing zeros).
``True`` is never a number and ``1`` is never a boolean here, although Python says
``Decimal(1) == True``: compare values with :func:`equal`, which also compares types.

Every malformed value raises :class:`~replicalab.dynamodb.exceptions.ValidationException`
with DynamoDB's wording where it is known.

    >>> to_python({"M": {"n": {"N": "1.50"}, "tags": {"SS": ["a"]}}})
    {'n': Decimal('1.5'), 'tags': frozenset({'a'})}
    >>> to_dynamodb(Decimal("15E-1"))
    {'N': '1.5'}
"""

from __future__ import annotations

import base64
import binascii
import decimal
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeAlias

from replicalab._validate import shown
from replicalab.dynamodb.exceptions import ValidationException

__all__ = [
    "MAX_DEPTH",
    "Value",
    "equal",
    "from_item",
    "held_number",
    "item_size",
    "number",
    "number_text",
    "to_dynamodb",
    "to_item",
    "to_python",
    "type_of",
]

#: A Python-side attribute value (see the table in the module docstring).
Value: TypeAlias = "str | Decimal | bytes | bool | None | dict | list | frozenset"

#: DynamoDB refuses documents nested deeper than this (maps and lists count alike).
MAX_DEPTH = 32
#: The largest item DynamoDB stores, names and values together (400 KB).
MAX_ITEM_BYTES = 400 * 1024
_MAX_DIGITS = 38
_MAX_EXPONENT = 125  # largest adjusted exponent: 9.99...E+125
_MIN_EXPONENT = -130  # smallest adjusted exponent: 1E-130
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_SET_TYPES = {"SS": "S", "NS": "N", "BS": "B"}
_SET_WORDS = {"SS": "string set", "NS": "number set", "BS": "binary set"}
#: Enough precision that no arithmetic on valid numbers rounds before we check the result.
_WIDE = decimal.Context(prec=400, Emax=999_999, Emin=-999_999)


def number(value: Any) -> Decimal:
    """``value`` (a number's text, an ``int`` or a ``Decimal``) as a canonical DynamoDB number.

    Raises ValidationException for text that is not a number, NaN or infinity, more than
    38 significant digits, or a magnitude outside DynamoDB's range. Floats are refused, as
    boto3 refuses them: a binary float has no exact decimal value to store.

        >>> number("0012.3400"), number(-0), number("1E+2")
        (Decimal('12.34'), Decimal('0'), Decimal('1E+2'))
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValidationException(
            f"A number must be given as text, an int or a Decimal (floats are inexact), "
            f"got {shown(value)} ({type(value).__name__})")
    if isinstance(value, str):
        if len(value) > 1000 or not _NUMBER.fullmatch(value):
            raise ValidationException(
                f"A value provided cannot be converted into a number: {shown(value)}")
        value = Decimal(value)
    elif isinstance(value, int):
        if abs(value) >= 10 ** (_MAX_EXPONENT + 1):
            raise ValidationException("Number overflow. Attempting to store a number with "
                                      "magnitude larger than supported range")
        value = Decimal(value)
    if not value.is_finite():
        raise ValidationException(f"A value provided cannot be converted into a number: {value}")
    if not value:
        return Decimal(0)
    sign, trimmed, exponent = _trimmed(value)
    if len(trimmed) > _MAX_DIGITS:
        raise ValidationException(
            "Attempting to store more than 38 significant digits in a Number")
    adjusted = exponent + len(trimmed) - 1
    if adjusted > _MAX_EXPONENT:
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range")
    if adjusted < _MIN_EXPONENT:
        raise ValidationException(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range")
    return Decimal((sign, tuple(trimmed), exponent))


def _trimmed(value: Decimal) -> tuple[int, list[int], int]:
    """A finite non-zero number's sign, significant digits (no leading or trailing zeros) and
    exponent."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trimmed = list(digits)
    while trimmed and trimmed[-1] == 0:
        trimmed.pop()
        exponent += 1
    while trimmed and trimmed[0] == 0:
        trimmed.pop(0)
    return sign, trimmed, exponent


def held_number(value: int | Decimal) -> Decimal:
    """A number a table already *holds*, canonical, without the checks on a number to store.

    Only a ``crdt`` counter can hold a number DynamoDB would refuse to store: two increments,
    each accepted in its region, can merge past 38 significant digits. Such an item must stay
    readable, so an answer shows what the counter holds exactly (:func:`from_item`); every
    write still stores through :func:`number`, which refuses it.

        >>> held_number(10**38 + 1)
        Decimal('100000000000000000000000000000000000001')
    """
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or \
            (isinstance(value, Decimal) and not value.is_finite()):
        raise ValidationException(f"held_number takes a finite int or Decimal, got {shown(value)}")
    value = Decimal(value)
    if not value:
        return Decimal(0)
    sign, trimmed, exponent = _trimmed(value)
    return Decimal((sign, tuple(trimmed), exponent))


def number_text(value: Decimal) -> str:
    """The text DynamoDB returns for a canonical number: plain notation, no trailing zeros.

        >>> number_text(Decimal("1E+2")), number_text(Decimal("-0.05"))
        ('100', '-0.05')
    """
    if not isinstance(value, Decimal):
        raise ValidationException(f"number_text takes a Decimal, got {shown(value)}")
    return format(number(value), "f")


def add(left: Decimal, right: Decimal) -> Decimal:
    """``left + right`` exactly, then checked as a stored number (digits and range)."""
    return number(_WIDE.add(left, right))


def subtract(left: Decimal, right: Decimal) -> Decimal:
    """``left - right`` exactly, then checked as a stored number (digits and range)."""
    return number(_WIDE.subtract(left, right))


def type_of(value: Value) -> str:
    """The DynamoDB type of a Python-side value: ``"S"``, ``"N"``, ..., ``"SS"``, ``"NS"``, ``"BS"``.

        >>> type_of(Decimal(3)), type_of(frozenset({b"x"})), type_of(None)
        ('N', 'BS', 'NULL')
    """
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, str):
        return "S"
    if isinstance(value, Decimal):
        return "N"
    if isinstance(value, bytes):
        return "B"
    if value is None:
        return "NULL"
    if isinstance(value, dict):
        return "M"
    if isinstance(value, list):
        return "L"
    if isinstance(value, frozenset) and value:
        return _set_type(value)
    raise ValidationException(f"Not a DynamoDB attribute value: {shown(value)}")


def _set_type(value: frozenset) -> str:
    for kind, member in (("SS", str), ("NS", Decimal), ("BS", bytes)):
        if all(isinstance(v, member) for v in value):
            return kind
    raise ValidationException(
        f"Not a DynamoDB set: members must all be str, all Decimal or all bytes, got {shown(value)}")


def equal(left: Value, right: Value) -> bool:
    """DynamoDB equality: same type and same value; sets and maps by content, lists in order.

        >>> equal(Decimal(1), True), equal(frozenset({"a", "b"}), frozenset({"b", "a"}))
        (False, True)
    """
    return _equal(left, right, 0)


def _equal(left: Value, right: Value, _depth: int) -> bool:
    if _depth > MAX_DEPTH:
        raise ValidationException(f"Nesting Levels have exceeded supported limits: more than "
                                  f"{MAX_DEPTH} levels")
    kind = type_of(left)
    if kind != type_of(right):
        return False
    if kind == "M":
        assert isinstance(left, dict) and isinstance(right, dict)
        return left.keys() == right.keys() and all(_equal(left[k], right[k], _depth + 1)
                                                   for k in left)
    if kind == "L":
        assert isinstance(left, list) and isinstance(right, list)
        return len(left) == len(right) and all(_equal(a, b, _depth + 1)
                                               for a, b in zip(left, right, strict=True))
    return bool(left == right)


# ---------------------------------------------------------------------------
# DynamoDB JSON -> Python


def to_python(attribute: Any, where: str = "value") -> Value:
    """The Python value of one DynamoDB JSON attribute value, validated.

    ``where`` names the value in error messages (``"key :addr"``, ``"attribute tags"``).

        >>> to_python({"NS": ["1", "2.0"]}) == frozenset({Decimal(1), Decimal(2)})
        True
        >>> to_python({"SS": []})
        Traceback (most recent call last):
        ...
        replicalab.dynamodb.exceptions.ValidationException: One or more parameter values were invalid: An string set  may not be empty (value)
    """
    return _to_python(attribute, where if isinstance(where, str) else shown(where), 0)


def _to_python(attribute: Any, where: str, _depth: int) -> Value:
    if _depth > MAX_DEPTH:
        raise ValidationException(
            f"Nesting Levels have exceeded supported limits: {where} is nested more than "
            f"{MAX_DEPTH} levels deep")
    if not isinstance(attribute, Mapping) or len(attribute) != 1:
        raise ValidationException(
            f"Supplied AttributeValue has more than one datatypes set, must contain exactly one "
            f"of the supported datatypes ({where}: {shown(attribute)})"
            if isinstance(attribute, Mapping) and attribute else
            f"Supplied AttributeValue is empty, must contain exactly one of the supported "
            f"datatypes ({where}: {shown(attribute)})")
    ((kind, payload),) = attribute.items()
    if kind == "S":
        return _string(payload, where)
    if kind == "N":
        return number(payload) if isinstance(payload, str) else _bad(kind, payload, where)
    if kind == "B":
        return _binary(payload, where)
    if kind == "BOOL":
        return payload if isinstance(payload, bool) else _bad(kind, payload, where)
    if kind == "NULL":
        if payload is not True:
            raise ValidationException(
                f"One or more parameter values were invalid: Null attribute value types must "
                f"have the value of true ({where})")
        return None
    if kind == "M":
        if not isinstance(payload, Mapping):
            return _bad(kind, payload, where)
        out: dict[str, Value] = {}
        for name, inner in payload.items():
            if not isinstance(name, str):
                raise ValidationException(f"Map keys must be strings ({where}: {shown(name)})")
            out[name] = _to_python(inner, f"{where}.{name}", _depth + 1)
        return out
    if kind == "L":
        if not isinstance(payload, (list, tuple)):
            return _bad(kind, payload, where)
        return [_to_python(inner, f"{where}[{i}]", _depth + 1) for i, inner in enumerate(payload)]
    if kind in _SET_TYPES:
        return _set(kind, payload, where)
    raise ValidationException(
        f"Supplied AttributeValue has an unknown datatype {shown(kind)}; must be one of "
        f"S, N, B, BOOL, NULL, M, L, SS, NS, BS ({where})")


def _bad(kind: str, payload: Any, where: str) -> Any:
    expected = {"N": "a number's text", "BOOL": "true or false", "M": "an object",
                "L": "an array"}[kind]
    raise ValidationException(
        f"Invalid {kind} value for {where}: expected {expected}, got {shown(payload)}")


def _string(payload: Any, where: str) -> str:
    if not isinstance(payload, str):
        raise ValidationException(f"Invalid S value for {where}: expected text, got {shown(payload)}")
    return payload


def _binary(payload: Any, where: str) -> bytes:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise ValidationException(
        f"Invalid B value for {where}: expected bytes or base64 text, got {shown(payload)}")


def _set(kind: str, payload: Any, where: str) -> frozenset:
    if not isinstance(payload, (list, tuple)):
        raise ValidationException(f"Invalid {kind} value for {where}: expected an array, "
                                  f"got {shown(payload)}")
    if not payload:
        word = _SET_WORDS[kind]
        raise ValidationException(
            f"One or more parameter values were invalid: An {word}  may not be empty ({where})")
    element = _SET_TYPES[kind]
    members: list[Any] = []
    for item in payload:
        if element == "S":
            members.append(_string(item, where))
        elif element == "N":
            if not isinstance(item, str):
                raise ValidationException(
                    f"Invalid NS member for {where}: expected a number's text, got {shown(item)}")
            members.append(number(item))
        else:
            members.append(_binary(item, where))
    result = frozenset(members)
    if len(result) != len(members):
        raise ValidationException(
            f"One or more parameter values were invalid: Input collection {shown(payload)} "
            f"contains duplicates ({where})")
    return result


def to_item(item: Any, what: str = "Item") -> dict[str, Value]:
    """A whole item (attribute name -> DynamoDB JSON) as a dict of Python values.

        >>> to_item({"subscriber_id": {"S": "sub_42"}, "version": {"N": "17"}})
        {'subscriber_id': 'sub_42', 'version': Decimal('17')}
    """
    what = what if isinstance(what, str) else shown(what)
    if not isinstance(item, Mapping):
        raise ValidationException(f"{what} must be a map of attribute names to values, got "
                                  f"{shown(item)}")
    out: dict[str, Value] = {}
    for name, attribute in item.items():
        if not isinstance(name, str) or not name:
            raise ValidationException(
                f"One or more parameter values were invalid: attribute names must be non-empty "
                f"text ({what}: {shown(name)})")
        out[name] = _to_python(attribute, f"{what}.{name}", 0)
    return out


# ---------------------------------------------------------------------------
# Python -> DynamoDB JSON


def to_dynamodb(value: Any) -> dict[str, Any]:
    """The DynamoDB JSON of a Python value (``set``/``frozenset``, ``int`` and ``bytearray`` too).

        >>> to_dynamodb({"tags": {"a"}, "n": 2, "gone": None})
        {'M': {'tags': {'SS': ['a']}, 'n': {'N': '2'}, 'gone': {'NULL': True}}}
    """
    return _to_dynamodb(value, 0)


def _to_dynamodb(value: Any, _depth: int, held: bool = False) -> dict[str, Any]:
    if _depth > MAX_DEPTH:
        raise ValidationException(
            f"Nesting Levels have exceeded supported limits: more than {MAX_DEPTH} levels")
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, Decimal)) and held:
        return {"N": format(held_number(value), "f")}
    if isinstance(value, (int, Decimal, float)):
        return {"N": number_text(number(value))}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise ValidationException(f"Map keys must be strings, got {shown(value)}")
        return {"M": {k: _to_dynamodb(v, _depth + 1, held) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [_to_dynamodb(v, _depth + 1, held) for v in value]}
    if isinstance(value, (set, frozenset)):
        return _set_json(value)
    raise ValidationException(
        f"Cannot store {shown(value)} ({type(value).__name__}) in DynamoDB: use str, int, "
        f"Decimal, bytes, bool, None, dict, list or a set")


def _set_json(value: set | frozenset) -> dict[str, Any]:
    if not value:
        raise ValidationException("One or more parameter values were invalid: An string set  "
                                  "may not be empty")
    if all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}
    if all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in value):
        numbers = sorted({number(v) for v in value})
        return {"NS": [number_text(n) for n in numbers]}
    if all(isinstance(v, (bytes, bytearray)) for v in value):
        return {"BS": sorted(bytes(v) for v in value)}
    raise ValidationException(
        f"One or more parameter values were invalid: a set's members must all be strings, all "
        f"numbers or all binary, got {shown(value)}")


def item_size(item: Mapping[str, Value]) -> int:
    """An item's size in bytes as DynamoDB counts it against the 400 KB limit.

    From the Developer Guide, "Item sizes and formats": names and strings by their UTF-8
    bytes, binaries by their length, a number by one byte per two significant digits plus
    one, a boolean or NULL one byte, a list or map three bytes plus one per element plus its
    contents, a set the sum of its members.

        >>> item_size({"id": "sub_42", "version": Decimal(17)})
        17
    """
    if not isinstance(item, Mapping):
        raise ValidationException(f"item_size takes an item (a map), got {shown(item)}")
    return sum(_utf8(name) + _size(value, 0) for name, value in item.items())


def _utf8(text: Any) -> int:
    if not isinstance(text, str):
        raise ValidationException(f"Not an attribute name: {shown(text)}")
    return len(text.encode("utf-8", "surrogatepass"))


def _size(value: Any, depth: int) -> int:
    if depth > MAX_DEPTH:
        raise ValidationException(f"Nesting Levels have exceeded supported limits: more than "
                                  f"{MAX_DEPTH} levels")
    kind = type_of(value)
    if kind == "S":
        return _utf8(value)
    if kind == "N":
        digits = len(held_number(value).as_tuple().digits)  # a held counter may be past 38
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(value)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(1 + _utf8(k) + _size(v, depth + 1) for k, v in value.items())
    if kind == "L":
        return 3 + sum(1 + _size(v, depth + 1) for v in value)
    return sum(_size(member, depth + 1) for member in value)


def from_item(item: Mapping[str, Value]) -> dict[str, Any]:
    """A whole item of Python values as DynamoDB JSON (the inverse of :func:`to_item`).

    An answer shows what a table holds: a number is written out as held
    (:func:`held_number`), even a ``crdt`` counter merged past 38 significant digits."""
    if not isinstance(item, Mapping) or not all(isinstance(k, str) and k for k in item):
        raise ValidationException(f"An item must map non-empty attribute names to values, got "
                                  f"{shown(item)}")
    return {name: _to_dynamodb(value, 0, held=True) for name, value in item.items()}
