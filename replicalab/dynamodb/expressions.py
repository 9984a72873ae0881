"""DynamoDB's expression languages, parsed: UpdateExpression and Condition/KeyConditionExpression.

A small hand-written recursive-descent parser (no parsing library: the grammar is a page
long and DynamoDB's error messages need the parser's own view of where it failed). It turns
the text into frozen nodes; placeholders are resolved while parsing, against the request's
``ExpressionAttributeNames`` / ``ExpressionAttributeValues`` held by :class:`Substitutions`,
which also remembers which ones were used (DynamoDB refuses unused ones). The nodes live in
:mod:`replicalab.dynamodb.syntax`, the placeholders in :mod:`replicalab.dynamodb.placeholders`.

This module stays whole (about 640 lines, a third of them grammar, validation rules and the
parser's docstrings): the checks DynamoDB makes are made *while* parsing, at the token that
breaks them, so the parser and its checks are one job that reads best in one place.

Grammar (keywords are case-insensitive, function names are not)::

    update      := clause+                                 each of SET, REMOVE, ADD, DELETE once
    clause      := SET    set_action ("," set_action)*
                 | REMOVE path ("," path)*
                 | ADD    path value ("," path value)*
                 | DELETE path value ("," path value)*
    set_action  := path "=" set_value
    set_value   := set_operand [("+" | "-") set_operand]
    set_operand := path | value
                 | "if_not_exists" "(" path "," set_operand ")"
                 | "list_append" "(" set_operand "," set_operand ")"

    condition   := disjunct (OR disjunct)*                 precedence, loosest first:
    disjunct    := conjunct (AND conjunct)*                OR, AND, NOT, then the rest
    conjunct    := NOT conjunct | "(" condition ")" | predicate
    predicate   := operand comparator operand              comparator: = <> < <= > >=
                 | operand BETWEEN operand AND operand
                 | operand IN "(" operand ("," operand)* ")"        at most 100 operands
                 | "attribute_exists" "(" path ")" | "attribute_not_exists" "(" path ")"
                 | "attribute_type" "(" path "," value ")"
                 | "begins_with" "(" path "," operand ")" | "contains" "(" path "," operand ")"
    operand     := path | value | "size" "(" path ")"

    projection  := path ("," path)*                        ProjectionExpression; no overlaps

    path        := name ("." name | "[" digits "]")*
    name        := identifier | "#" placeholder           a bare identifier may not be a
    value       := ":" placeholder                         reserved word (see _reserved)

What is checked here, before any item is read (each a ValidationException worded as
DynamoDB words it): syntax; undefined placeholders; reserved words; a clause used twice;
update paths that overlap (one a prefix of another) or conflict (a map key and a list index
at the same place); operand types known from the values (ADD takes a number or a set,
DELETE a set, ``list_append`` lists, ``attribute_type`` a type name, ``begins_with`` a
string or binary, ``BETWEEN`` bounds in order; an ordering comparison of other types is
simply false); redundant parentheses (``((a = :v))``); function arity; an
expression longer than 4 KB or nested more than :data:`MAX_NESTING` deep. Whether the
*names and values given* were all used is :meth:`Substitutions.check_all_used`, once every
expression of a request is parsed.

    >>> subs = Substitutions.from_request({"#v": "version"}, {":addr": {"S": "12 High St"},
    ...                                    ":new_v": {"N": "18"}, ":expected_v": {"N": "17"}})
    >>> update = parse_update("SET delivery_address = :addr, #v = :new_v", subs)
    >>> condition = parse_condition("#v = :expected_v", subs)
    >>> subs.check_all_used()
    >>> [str(action) for action in update.actions], str(condition)
    (["SET delivery_address = '12 High St'", 'SET version = 18'], 'version = 17')
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from replicalab._validate import shown
from replicalab.dynamodb._reserved import RESERVED_WORDS
from replicalab.dynamodb.exceptions import ValidationException
from replicalab.dynamodb.placeholders import Substitutions
from replicalab.dynamodb.syntax import (
    Action,
    Add,
    And,
    Arithmetic,
    Between,
    Compare,
    Condition,
    Delete,
    Function,
    IfNotExists,
    In,
    ListAppend,
    Literal,
    Not,
    Operand,
    Or,
    Path,
    Remove,
    Set,
    SetOperand,
    SetValue,
    Size,
    UpdateExpression,
)
from replicalab.dynamodb.values import Value, type_of

#: The node classes (Path, Literal, Set, Compare, ...) are importable for reading a parsed
#: expression, but only the parser's entry points are the module's promise.
__all__ = [
    "MAX_NESTING",
    "KeyCondition",
    "Substitutions",
    "UpdateExpression",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
]

#: Parentheses and NOTs nested deeper than this are refused (the parser recurses on them).
MAX_NESTING = 64
_MAX_BYTES = 4096
_MAX_IN = 100
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<name>\#[A-Za-z0-9_]+)
  | (?P<value>:[A-Za-z0-9_]+)
  | (?P<word>[A-Za-z0-9_]+)
  | (?P<symbol><>|<=|>=|[=<>()\[\],.+\-])
""", re.VERBOSE)
_TYPE_WORDS = {"S": "STRING", "N": "NUMBER", "B": "BINARY", "BOOL": "BOOLEAN", "NULL": "NULL",
               "M": "MAP", "L": "LIST", "SS": "SET", "NS": "SET", "BS": "SET"}
_ATTRIBUTE_TYPES = ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M")
_CONDITION_FUNCTIONS = {"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2,
                        "begins_with": 2, "contains": 2}
_UPDATE_FUNCTIONS = {"if_not_exists", "list_append"}
_COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")


# ---------------------------------------------------------------------------
# Tokens and the parser


@attrs.frozen
class _Token:
    kind: str  # name, value, word, symbol, end
    text: str


def _tokens(text: str, what: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            near = text[max(0, position - 10): position + 10]
            raise ValidationException(
                f'Invalid {what}: Syntax error; token: "{text[position]}", near: "{near}"')
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            out.append(_Token(kind, match.group()))
        position = match.end()
    out.append(_Token("end", "<EOF>"))
    return out


class _Parser:
    def __init__(self, text: Any, what: str, subs: Substitutions) -> None:
        if not isinstance(subs, Substitutions):
            raise ValidationException(f"substitutions must be a Substitutions, got {shown(subs)}")
        if not isinstance(text, str):
            raise ValidationException(f"{what} must be text, got {shown(text)}")
        if not text.strip():
            raise ValidationException(f"Invalid {what}: The expression can not be empty;")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > _MAX_BYTES:
            raise ValidationException(
                f"Invalid {what}: Expression size has exceeded the maximum allowed size; "
                f"expression size: {size}")
        self.what = what
        self.subs = subs
        self.tokens = _tokens(text, what)
        self.position = 0
        self.depth = 0
        self.parenthesized: set[int] = set()  # ids of conditions written in parentheses

    # -- token helpers

    @property
    def current(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.tokens[self.position]
        if token.kind != "end":
            self.position += 1
        return token

    def at(self, symbol: str) -> bool:
        return self.current.kind == "symbol" and self.current.text == symbol

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind == "word" and self.current.text.upper() in words

    def expect(self, symbol: str) -> None:
        if not self.at(symbol):
            self.syntax_error()
        self.advance()

    def syntax_error(self) -> ValidationException:
        token = self.current
        before = self.tokens[self.position - 1].text if self.position else ""
        after = self.tokens[self.position + 1].text if token.kind != "end" else ""
        near = " ".join(t for t in (before, token.text if token.kind != "end" else "", after) if t)
        raise ValidationException(
            f'Invalid {self.what}: Syntax error; token: "{token.text}", near: "{near}"')

    def error(self, message: str) -> ValidationException:
        return ValidationException(f"Invalid {self.what}: {message}")

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"The expression is nested more than {MAX_NESTING} levels deep")

    def finish(self) -> None:
        if self.current.kind != "end":
            self.syntax_error()

    # -- paths and values

    def at_function(self) -> bool:
        return (self.current.kind == "word" and self.tokens[self.position + 1].kind == "symbol"
                and self.tokens[self.position + 1].text == "(")

    def path(self) -> Path:
        placeholder = self.current.kind == "name"
        elements: list[str | int] = [self.path_name()]
        while True:
            if self.at("."):
                self.advance()
                elements.append(self.path_name())
            elif self.at("["):
                self.advance()
                token = self.current
                if token.kind != "word" or not token.text.isdigit():
                    self.syntax_error()
                self.advance()
                self.expect("]")
                elements.append(int(token.text))
            else:
                return Path(tuple(elements), placeholder and len(elements) == 1)

    def path_name(self) -> str:
        token = self.current
        if token.kind == "name":
            self.advance()
            return self.subs.name(token.text)
        if token.kind == "word" and not token.text[0].isdigit():
            if token.text.upper() in RESERVED_WORDS:
                raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {token.text}")
            self.advance()
            return token.text
        self.syntax_error()
        raise AssertionError("unreachable")

    def literal(self) -> Literal:
        token = self.current
        if token.kind != "value":
            self.syntax_error()
        self.advance()
        return Literal(self.subs.value(token.text), token.text)

    def distinct(self, operator: str, first: Operand, rest: list[Operand]) -> None:
        """DynamoDB refuses an operator whose first operand is one of the others (``a = a``)."""
        if isinstance(first, (Path, Size)) and first in rest:
            raise self.error(f"The first operand must be distinct from the remaining operands "
                             f"for this operator or function; operator: {operator}, first "
                             f"operand: [{first}]")

    def operand_type_error(self, function: str, literal: Literal) -> ValidationException:
        return self.error(f"Incorrect operand type for operator or function; operator or "
                          f"function: {function}, operand type: {type_of(literal.value)}")

    # -- UpdateExpression

    def update(self) -> UpdateExpression:
        actions: list[Action] = []
        seen: set[str] = set()
        while self.current.kind != "end":
            if not self.at_keyword("SET", "REMOVE", "ADD", "DELETE"):
                self.syntax_error()
            clause = self.advance().text.upper()
            if clause in seen:
                raise self.error(f'The "{clause}" section can only be used once in an update '
                                 f"expression;")
            seen.add(clause)
            while True:
                actions.append(self.action(clause))
                if not self.at(","):
                    break
                self.advance()
            if self.current.kind != "end" and not self.at_keyword("SET", "REMOVE", "ADD", "DELETE"):
                self.syntax_error()
        _check_paths([action.path for action in actions], self.what)
        return UpdateExpression(tuple(actions))

    def action(self, clause: str) -> Action:
        path = self.path()
        if clause == "SET":
            self.expect("=")
            return Set(path, self.set_value())
        if clause == "REMOVE":
            return Remove(path)
        literal = self.literal()
        kind = type_of(literal.value)
        if clause == "ADD":
            if kind not in ("N", "SS", "NS", "BS"):
                raise self.error(f"Incorrect operand type for operator or function; operator: "
                                 f"ADD, operand type: {_TYPE_WORDS[kind]}")
            return Add(path, literal)
        if kind not in ("SS", "NS", "BS"):
            raise self.error(f"Incorrect operand type for operator or function; operator: "
                             f"DELETE, operand type: {_TYPE_WORDS[kind]}")
        return Delete(path, literal)

    def set_value(self) -> SetValue:
        left = self.set_operand()
        if self.at("+") or self.at("-"):
            operator = self.advance().text
            right = self.set_operand()
            for side in (left, right):
                if isinstance(side, Literal) and type_of(side.value) != "N":
                    raise self.operand_type_error(operator, side)
            return Arithmetic(operator, left, right)
        return left

    def set_operand(self) -> SetOperand:
        if self.current.kind == "value":
            return self.literal()
        if not self.at_function():
            return self.path()
        function = self.advance().text
        if function not in _UPDATE_FUNCTIONS:
            if function in _CONDITION_FUNCTIONS or function == "size":
                raise self.error(f"The function is not allowed in an update expression; "
                                 f"function: {function}")
            raise self.error(f"Invalid function name; function: {function}")
        self.nest()
        self.expect("(")
        if function == "if_not_exists":
            if self.current.kind == "value" or self.at_function():
                raise self.error("Operator or function requires a document path; operator or "
                                 "function: if_not_exists")
            path = self.path()
            self.expect(",")
            default = self.set_operand()
            self.expect(")")
            self.depth -= 1
            return IfNotExists(path, default)
        left = self.set_operand()
        self.expect(",")
        right = self.set_operand()
        self.expect(")")
        self.depth -= 1
        for side in (left, right):
            if isinstance(side, Literal) and type_of(side.value) != "L":
                raise self.operand_type_error("list_append", side)
        return ListAppend(left, right)

    # -- ConditionExpression

    def condition(self) -> Condition:
        left = self.disjunct()
        while self.at_keyword("OR"):
            self.advance()
            left = Or(left, self.disjunct())
        return left

    def disjunct(self) -> Condition:
        left = self.conjunct()
        while self.at_keyword("AND"):
            self.advance()
            left = And(left, self.conjunct())
        return left

    def conjunct(self) -> Condition:
        if self.at_keyword("NOT"):
            self.advance()
            self.nest()
            inner = self.conjunct()
            self.depth -= 1
            return Not(inner)
        if self.at("("):
            self.advance()
            self.nest()
            inner = self.condition()
            self.expect(")")
            self.depth -= 1
            if id(inner) in self.parenthesized:
                raise self.error("The expression has redundant parentheses;")
            self.parenthesized.add(id(inner))
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        if self.at_function() and self.current.text != "size":
            return self.function()
        left = self.operand()
        if self.current.kind == "symbol" and self.current.text in _COMPARATORS:
            operator = self.advance().text
            right = self.operand()
            self.distinct(operator, left, [right])
            return Compare(operator, left, right)
        if self.at_keyword("BETWEEN"):
            self.advance()
            low = self.operand()
            if not self.at_keyword("AND"):
                self.syntax_error()
            self.advance()
            high = self.operand()
            self.distinct("BETWEEN", left, [low, high])
            if isinstance(low, Literal) and isinstance(high, Literal) and \
                    type_of(low.value) != type_of(high.value):
                raise self.error(
                    f"The BETWEEN operator requires same data type for lower and upper bounds; "
                    f"lower bound operand: AttributeValue: {{{type_of(low.value)}:"
                    f"{shown(low.value)}}}, upper bound operand: AttributeValue: "
                    f"{{{type_of(high.value)}:{shown(high.value)}}}")
            if isinstance(low, Literal) and isinstance(high, Literal) and \
                    type_of(low.value) == type_of(high.value) and _greater(low.value, high.value):
                raise self.error(
                    f"The BETWEEN operator requires upper bound to be greater than or equal to "
                    f"lower bound; lower bound operand: AttributeValue: {{{type_of(low.value)}:"
                    f"{shown(low.value)}}}, upper bound operand: AttributeValue: "
                    f"{{{type_of(high.value)}:{shown(high.value)}}}")
            return Between(left, low, high)
        if self.at_keyword("IN"):
            self.advance()
            self.expect("(")
            choices = [self.operand()]
            while self.at(","):
                self.advance()
                choices.append(self.operand())
            self.expect(")")
            self.distinct("IN", left, choices)
            if len(choices) > _MAX_IN:
                raise self.error(f"The IN operator takes at most {_MAX_IN} operands; "
                                 f"number of operands: {len(choices)}")
            return In(left, tuple(choices))
        self.syntax_error()
        raise AssertionError("unreachable")

    def function(self) -> Condition:
        name = self.advance().text
        if name not in _CONDITION_FUNCTIONS:
            if name in _UPDATE_FUNCTIONS:
                raise self.error(f"The function is not allowed in a condition expression; "
                                 f"function: {name}")
            raise self.error(f"Invalid function name; function: {name}")
        self.expect("(")
        arguments = [self.operand()]
        while self.at(","):
            self.advance()
            arguments.append(self.operand())
        self.expect(")")
        if len(arguments) != _CONDITION_FUNCTIONS[name]:
            raise self.error(f"Incorrect number of operands for operator or function; operator "
                             f"or function: {name}, number of operands: {len(arguments)}")
        if not isinstance(arguments[0], Path):
            raise self.error(f"Operator or function requires a document path; operator or "
                             f"function: {name}")
        if name == "attribute_type":
            kind = arguments[1]
            if not isinstance(kind, Literal) or kind.value not in _ATTRIBUTE_TYPES:
                shown_kind = kind.value if isinstance(kind, Literal) else kind
                raise self.error(f"Invalid attribute type name found; type: {shown(shown_kind)}, "
                                 f"valid types: {{{','.join(_ATTRIBUTE_TYPES)}}}")
        if name in ("begins_with", "contains"):
            self.distinct(name, arguments[0], arguments[1:])
        if name == "begins_with":
            prefix = arguments[1]
            if isinstance(prefix, Literal) and type_of(prefix.value) not in ("S", "B"):
                raise self.operand_type_error(name, prefix)
        return Function(name, tuple(arguments))

    def operand(self) -> Operand:
        if self.current.kind == "value":
            return self.literal()
        if self.at_function():
            name = self.advance().text
            if name != "size":
                if name in _CONDITION_FUNCTIONS or name in _UPDATE_FUNCTIONS:
                    raise self.error(f"The function is not allowed here; function: {name}")
                raise self.error(f"Invalid function name; function: {name}")
            self.expect("(")
            if self.current.kind == "value" or self.at_function():
                raise self.error("Operator or function requires a document path; operator or "
                                 "function: size")
            path = self.path()
            self.expect(")")
            return Size(path)
        return self.path()


def _greater(left: Value, right: Value) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.encode("utf-8", "surrogatepass") > right.encode("utf-8", "surrogatepass")
    return bool(left > right)  # type: ignore[operator]  # numbers or bytes, checked by caller


def _check_paths(paths: list[Path], what: str, lone_placeholders_exempt: bool = True) -> None:
    """Refuse update paths that overlap (one a prefix of another) or conflict (key vs index).

    A path written as a lone ``#name`` placeholder is only compared for being the *same*
    path: DynamoDB does not look for overlaps through it (``REMOVE #m.j DELETE #m :s`` passes
    this check), as moto's validator records and mimics for UpdateExpression. A
    ProjectionExpression gets the plain rule (``lone_placeholders_exempt=False``).
    """
    for i, one in enumerate(paths):
        for two in paths[i + 1:]:
            if lone_placeholders_exempt and (one.bare_placeholder or two.bare_placeholder) \
                    and one.elements != two.elements:
                continue
            for a, b in zip(one.elements, two.elements, strict=False):
                if a == b and type(a) is type(b):
                    continue
                if isinstance(a, int) != isinstance(b, int):
                    raise ValidationException(
                        f"Invalid {what}: Two document paths conflict with each other; must "
                        f"remove or rewrite one of these paths; path one: {one.described()}, "
                        f"path two: {two.described()}")
                break
            else:
                raise ValidationException(
                    f"Invalid {what}: Two document paths overlap with each other; must remove "
                    f"or rewrite one of these paths; path one: {one.described()}, path two: "
                    f"{two.described()}")


def parse_update(text: str, substitutions: Substitutions) -> UpdateExpression:
    """Parse an UpdateExpression, resolving placeholders through ``substitutions``.

        >>> subs = Substitutions.from_request(values={":one": {"N": "1"}})
        >>> [str(a) for a in parse_update("ADD n :one REMOVE a.b[2]", subs).actions]
        ['ADD n 1', 'REMOVE a.b[2]']
    """
    parser = _Parser(text, "UpdateExpression", substitutions)
    return parser.update()


def parse_projection(text: str, substitutions: Substitutions) -> tuple[Path, ...]:
    """Parse a ProjectionExpression: the document paths to return, none overlapping.

        >>> subs = Substitutions.from_request({"#v": "version"})
        >>> [str(p) for p in parse_projection("#v, address.city, tags[0]", subs)]
        ['version', 'address.city', 'tags[0]']
    """
    parser = _Parser(text, "ProjectionExpression", substitutions)
    paths = [parser.path()]
    while parser.at(","):
        parser.advance()
        paths.append(parser.path())
    parser.finish()
    _check_paths(paths, "ProjectionExpression", lone_placeholders_exempt=False)
    return tuple(paths)


def parse_condition(text: str, substitutions: Substitutions,
                    what: str = "ConditionExpression") -> Condition:
    """Parse a ConditionExpression (or a KeyConditionExpression: ``what`` names it in errors).

        >>> subs = Substitutions.from_request(values={":a": {"N": "1"}, ":b": {"N": "5"}})
        >>> str(parse_condition("NOT n BETWEEN :a AND :b OR attribute_not_exists(n)", subs))
        '(NOT (n BETWEEN 1 AND 5)) OR (attribute_not_exists(n))'
    """
    if what not in ("ConditionExpression", "KeyConditionExpression", "FilterExpression"):
        raise ValidationException(
            f"what must be ConditionExpression, KeyConditionExpression or FilterExpression, "
            f"got {shown(what)}")
    parser = _Parser(text, what, substitutions)
    condition = parser.condition()
    parser.finish()
    return condition


@attrs.frozen
class KeyCondition:
    """A parsed KeyConditionExpression: the partition key's value and the sort key's condition.

    ``sort`` is None, or one Compare (``= < <= > >=``), Between or ``begins_with`` Function on
    the sort key.
    """

    hash_key: str
    hash_value: Value
    sort: Condition | None = None


def parse_key_condition(text: str, substitutions: Substitutions,
                        key: tuple[str, ...]) -> KeyCondition:
    """Parse a KeyConditionExpression for a table whose key schema is ``key`` (hash[, range]).

    DynamoDB's rules (Query, "Key condition expressions"): ``hash = :v``, optionally ``AND``
    one condition on the sort key: ``= < <= > >=``, ``BETWEEN``, or ``begins_with``. No
    ``OR``, ``NOT``, ``IN``, ``<>`` and no other attribute.

        >>> subs = Substitutions.from_request(values={":c": {"S": "c1"}, ":p": {"S": "2026-"}})
        >>> kc = parse_key_condition("customer = :c AND begins_with(placed, :p)", subs,
        ...                          ("customer", "placed"))
        >>> kc.hash_value, str(kc.sort)
        ('c1', "begins_with(placed, '2026-')")
    """
    if not isinstance(key, tuple) or len(key) not in (1, 2) or \
            not all(isinstance(k, str) for k in key):
        raise ValidationException(f"key must be (hash,) or (hash, range), got {shown(key)}")
    condition = parse_condition(text, substitutions, "KeyConditionExpression")
    parts: list[Condition] = []
    pending = [condition]
    while pending:
        part = pending.pop()
        if isinstance(part, And):
            pending += [part.right, part.left]
        elif isinstance(part, (Or, Not, In)) or \
                isinstance(part, Compare) and part.operator == "<>":
            word = {Or: "OR", Not: "NOT", In: "IN"}.get(type(part), "<>")
            raise ValidationException(
                f"Invalid operator used in KeyConditionExpression: {word}")
        elif isinstance(part, Function) and part.name != "begins_with":
            raise ValidationException(
                f"Invalid operator used in KeyConditionExpression: {part.name}")
        else:
            parts.append(part)
    if len(parts) > 2:
        raise ValidationException("Conditions can be of length 1 or 2 only")
    hash_value: Value = None
    found_hash = False
    sort: Condition | None = None
    for part in parts:
        name = _key_attribute(part)
        if name == key[0]:
            if found_hash or not isinstance(part, Compare) or part.operator != "=" or \
                    not isinstance(part.right, Literal):
                raise ValidationException("Query key condition not supported")
            found_hash, hash_value = True, part.right.value
        elif len(key) == 2 and name == key[1] and sort is None:
            sort = part
        else:
            raise ValidationException("Query key condition not supported")
    if not found_hash:
        raise ValidationException(f"Query condition missed key schema element: {key[0]}")
    return KeyCondition(key[0], hash_value, sort)


def _key_attribute(part: Condition) -> str | None:
    """The top-level attribute a key condition's left side names, if it is a plain path whose
    other operands are all values."""
    others: tuple[Operand, ...]
    if isinstance(part, Compare):
        left, others = part.left, (part.right,)
    elif isinstance(part, Between):
        left, others = part.operand, (part.low, part.high)
    elif isinstance(part, Function):
        left, others = part.arguments[0], part.arguments[1:]
    else:
        return None
    if not isinstance(left, Path) or len(left.elements) != 1 or \
            not all(isinstance(o, Literal) for o in others):
        raise ValidationException("Query key condition not supported")
    return str(left.elements[0])
