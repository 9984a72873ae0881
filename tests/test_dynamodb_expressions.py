"""DynamoDB expressions on one item: worked examples from the AWS docs and the seed, and the
places where replicalab's old ClientWrite model diverged from DynamoDB (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest

from replicalab.dynamodb.evaluate import apply_update, evaluate_condition
from replicalab.dynamodb.exceptions import ValidationException
from replicalab.dynamodb.expressions import (
    Substitutions,
    parse_condition,
    parse_key_condition,
    parse_update,
)

SUB_42 = {"subscriber_id": {"S": "sub_42"}, "version": {"N": "17"},
          "delivery_address": {"S": "1 Old Road"}}


def n(text: str) -> dict[str, str]:
    return {"N": text}


def s(text: str) -> dict[str, str]:
    return {"S": text}


def update(item: dict, expression: str, values: dict | None = None,
           names: dict | None = None) -> dict:
    return apply_update(item, expression, names, values)


def holds(item: dict, expression: str, values: dict | None = None,
          names: dict | None = None) -> bool:
    return evaluate_condition(item, expression, names, values)


# -- the seed's request -------------------------------------------------------


def test_the_seeds_versioned_update_applies_when_the_version_matches() -> None:
    """The London fix, verbatim: the condition and the update are one atomic request."""
    names = {"#v": "version"}
    values = {":addr": s("12 High Street, London"), ":expected_v": n("17"), ":new_v": n("18")}
    assert evaluate_condition(SUB_42, "#v = :expected_v", names, {":expected_v": n("17")})
    after = apply_update(SUB_42, "SET delivery_address = :addr, #v = :new_v", names,
                         {k: v for k, v in values.items() if k != ":expected_v"})
    assert after == {"subscriber_id": s("sub_42"), "version": n("18"),
                     "delivery_address": s("12 High Street, London")}
    assert SUB_42["version"] == n("17")  # the input item is not changed


def test_the_seeds_condition_fails_on_a_stale_version() -> None:
    assert not holds({**SUB_42, "version": n("18")}, "#v = :expected_v",
                     {":expected_v": n("17")}, {"#v": "version"})


# -- SET, REMOVE, ADD, DELETE (Developer Guide, "Update expressions") -------------


def test_set_arithmetic_if_not_exists_and_list_append() -> None:
    item = {"id": s("x"), "Price": n("100"), "RelatedItems": {"L": [s("a")]}}
    after = update(item, "SET Price = Price - :p, RelatedItems = list_append(RelatedItems, :ri), "
                         "Stock = if_not_exists(Stock, :zero)",
                   {":p": n("15"), ":ri": {"L": [s("b")]}, ":zero": n("0")})
    assert after["Price"] == n("85")
    assert after["RelatedItems"] == {"L": [s("a"), s("b")]}
    assert after["Stock"] == n("0")


def test_every_operand_reads_the_item_as_it_was_before_the_update() -> None:
    after = update({"a": n("1"), "b": n("2")}, "SET a = b, b = a")
    assert after == {"a": n("2"), "b": n("1")}


def test_nested_map_paths_and_list_indexes() -> None:
    item = {"ProductReviews": {"M": {"FiveStar": {"L": [s("great"), s("good")]}}}}
    after = update(item, "SET ProductReviews.FiveStar[0] = :r, ProductReviews.FiveStar[9] = :e, "
                         "ProductReviews.OneStar = :none",
                   {":r": s("superb"), ":e": s("appended"), ":none": {"L": []}})
    assert after["ProductReviews"]["M"]["FiveStar"] == {"L": [s("superb"), s("good"), s("appended")]}
    assert after["ProductReviews"]["M"]["OneStar"] == {"L": []}


def test_set_below_a_missing_parent_is_refused() -> None:
    with pytest.raises(ValidationException, match="document path provided in the update"):
        update({}, "SET a.b = :v", {":v": n("1")})


def test_remove_and_delete_below_a_missing_or_scalar_parent_are_refused() -> None:
    """Nothing to remove is fine; a path whose parent is not a map or list is not."""
    assert update({"a": {"M": {}}}, "REMOVE a.b") == {"a": {"M": {}}}
    for item in ({}, {"a": n("1")}):
        with pytest.raises(ValidationException, match="document path provided in the update"):
            update(item, "REMOVE a.b")
        with pytest.raises(ValidationException, match="document path provided in the update"):
            update(item, "DELETE a.b :s", {":s": {"SS": ["x"]}})


def test_remove_list_elements_by_their_original_positions() -> None:
    item = {"l": {"L": [s("a"), s("b"), s("c"), s("d")]}}
    assert update(item, "REMOVE l[0], l[2]") == {"l": {"L": [s("b"), s("d")]}}
    assert update(item, "REMOVE l[9], nothing") == item


def test_add_of_fractions_and_of_a_whole_number_written_with_a_decimal_point() -> None:
    """The old model refused ADD 0.5 and ADD 2.0: DynamoDB numbers are decimals."""
    assert update({"q": n("1")}, "ADD q :h", {":h": n("0.5")}) == {"q": n("1.5")}
    assert update({"q": n("1")}, "ADD q :t", {":t": n("2.0")}) == {"q": n("3")}
    assert update({}, "ADD q :t", {":t": n("2.0")}) == {"q": n("2")}


def test_add_and_delete_on_sets() -> None:
    item = {"colors": {"SS": ["red"]}}
    assert update(item, "ADD colors :c", {":c": {"SS": ["blue"]}}) == \
        {"colors": {"SS": ["blue", "red"]}}
    assert update(item, "DELETE colors :c", {":c": {"SS": ["red", "green"]}}) == {}
    with pytest.raises(ValidationException, match="incorrect data type"):
        update(item, "ADD colors :c", {":c": {"NS": ["1"]}})


def test_add_on_a_list_is_refused() -> None:
    """The old model treated lists as sets in ADD/DELETE; DynamoDB refuses a list operand."""
    with pytest.raises(ValidationException, match="operator: ADD, operand type: LIST"):
        update({"l": {"L": []}}, "ADD l :v", {":v": {"L": [s("x")]}})
    with pytest.raises(ValidationException, match="operator: DELETE, operand type: LIST"):
        update({"l": {"L": []}}, "DELETE l :v", {":v": {"L": [s("x")]}})
    with pytest.raises(ValidationException, match="incorrect data type"):
        update({"l": {"L": [s("x")]}}, "ADD l :v", {":v": {"SS": ["x"]}})


def test_an_empty_set_value_is_refused() -> None:
    """The old model stored an empty set; DynamoDB has none."""
    with pytest.raises(ValidationException, match="may not be empty"):
        update({}, "SET tags = :none", {":none": {"SS": []}})


def test_a_mixed_type_set_is_refused() -> None:
    """The old model let strings into a number set, and deleting them was a silent no-op."""
    with pytest.raises(ValidationException):
        update({}, "SET ns = :mixed", {":mixed": {"NS": ["1", "one"]}})
    with pytest.raises(ValidationException, match="incorrect data type"):
        update({"ns": {"NS": ["1"]}}, "DELETE ns :c", {":c": {"SS": ["1"]}})


def test_arithmetic_needs_numbers_that_exist() -> None:
    with pytest.raises(ValidationException, match="does not exist"):
        update({}, "SET a = b + :one", {":one": n("1")})
    with pytest.raises(ValidationException, match="incorrect data type"):
        update({"b": s("x")}, "SET a = b + :one", {":one": n("1")})
    with pytest.raises(ValidationException, match="more than 38"):
        update({"b": n("1" * 38)}, "SET a = b + :small", {":small": n("0.1")})


# -- conditions (Developer Guide, "Condition expressions") --------------------


def test_null_is_a_value_and_missing_is_not() -> None:
    """The old model let a None condition pass on NULL; DynamoDB tells NULL from missing."""
    null = {":null": {"NULL": True}}
    assert holds({"a": {"NULL": True}}, "a = :null", null)
    assert not holds({}, "a = :null", null)
    assert holds({"a": {"NULL": True}}, "attribute_exists(a)")
    assert holds({}, "attribute_not_exists(a)")
    assert holds({"a": {"NULL": True}}, "attribute_type(a, :t)", {":t": s("NULL")})


def test_equality_with_a_set_compares_members_in_any_order() -> None:
    """The old model's equality with a set never held."""
    assert holds({"t": {"SS": ["a", "b"]}}, "t = :t", {":t": {"SS": ["b", "a"]}})
    assert not holds({"t": {"SS": ["a", "b"]}}, "t = :t", {":t": {"SS": ["a"]}})
    assert not holds({"t": {"NS": ["1"]}}, "t = :t", {":t": {"SS": ["1"]}})


def test_comparisons_between_types_are_false_not_errors() -> None:
    item = {"a": n("5"), "s": s("abc")}
    assert not holds(item, "a < :s", {":s": s("9")})
    assert not holds(item, "a < :m", {":m": {"M": {}}})
    assert holds(item, "a <> :s", {":s": s("5")})
    assert holds(item, "gone <> :s", {":s": s("5")})
    assert holds(item, "a BETWEEN :lo AND :hi", {":lo": n("5"), ":hi": n("5.0")})
    assert holds(item, "s IN (:x, :y)", {":x": s("no"), ":y": s("abc")})


def test_precedence_is_not_then_and_then_or() -> None:
    item = {"a": n("1")}
    values = {":one": n("1"), ":two": n("2")}
    assert holds(item, "a = :two AND a = :two OR a = :one", values)
    assert not holds(item, "a = :two AND (a = :two OR a = :one)", values)
    assert not holds(item, "NOT a = :one AND a = :one", {":one": n("1")})
    assert holds(item, "NOT (a = :one AND a = :two)", values)
    assert holds(item, "((a = :one) AND (a = :one)) OR (a = :two)", values)


def test_functions() -> None:
    item = {"s": s("hello"), "b": {"B": b"\x01\x02"}, "ss": {"SS": ["x"]},
            "l": {"L": [n("1"), s("x")]}, "m": {"M": {"k": n("1")}}}
    assert holds(item, "begins_with(s, :p)", {":p": s("he")})
    assert holds(item, "begins_with(b, :p)", {":p": {"B": b"\x01"}})
    assert holds(item, "contains(s, :p) AND contains(ss, :x) AND contains(l, :one)",
                 {":p": s("ell"), ":x": s("x"), ":one": n("1")})
    assert holds(item, "size(s) = :five AND size(m) = :one AND size(l) > :one",
                 {":five": n("5"), ":one": n("1")})
    assert holds(item, "attribute_type(m, :m)", {":m": s("M")})


# -- validation ---------------------------------------------------------------


@pytest.mark.parametrize(("expression", "values", "names", "message"), [
    ("SET a = :v", {":v": n("1"), ":w": n("2")}, None, "unused in expressions: keys: {:w}"),
    ("SET a = :v", {":v": n("1")}, {"#x": "x"}, "unused in expressions: keys: {#x}"),
    ("SET a = :nope", {":v": n("1")}, None, "attribute value: :nope"),
    ("SET #nope = :v", {":v": n("1")}, None, "attribute name: #nope"),
    ("SET status = :v", {":v": n("1")}, None, "reserved keyword: status"),
    ("SET a = :v, a = :v", {":v": n("1")}, None, "overlap"),
    ("SET a = :v REMOVE a.b", {":v": n("1")}, None, "overlap"),
    ("SET #a = :v REMOVE #a", {":v": n("1")}, {"#a": "a"}, "overlap"),
    ("SET a.b = :v REMOVE a[0]", {":v": n("1")}, None, "conflict"),
    ("SET a = :v SET b = :v", {":v": n("1")}, None, '"SET" section can only be used once'),
    ("SET a = :v + :v + :v", {":v": n("1")}, None, "Syntax error"),
    ("SET a = size(b)", None, None, "not allowed in an update expression"),
    ("SET a = :v", {}, None, "must not be empty"),
    ("", None, None, "can not be empty"),
    ("ADD a :v", {":v": s("x")}, None, "operand type: STRING"),
    ("SET a = list_append(:v, b)", {":v": n("1")}, None, "list_append"),
])
def test_update_expressions_are_validated_as_dynamodb_does(
    expression: str, values: Any, names: Any, message: str
) -> None:
    with pytest.raises(ValidationException, match=message.replace("{", r"\{").replace("(", r"\(")):
        apply_update({}, expression, names, values)


@pytest.mark.parametrize(("expression", "values", "message"), [
    ("a BETWEEN :hi AND :lo", {":hi": n("2"), ":lo": n("1")}, "upper bound"),
    ("attribute_type(a, :t)", {":t": s("STRING")}, "Invalid attribute type name"),
    ("attribute_exists(:v)", {":v": n("1")}, "requires a document path"),
    ("begins_with(a, :v)", {":v": n("1")}, "begins_with"),
    ("if_not_exists(a, :v)", {":v": n("1")}, "not allowed in a condition"),
    ("a = :v AND", {":v": n("1")}, "Syntax error"),
    ("(" * 100 + "a = :v" + ")" * 100, {":v": n("1")}, "nested more than"),
    ("((a = :v))", {":v": n("1")}, "redundant parentheses"),
    ("NOT ((a = :v)) AND a = :v", {":v": n("1")}, "redundant parentheses"),
])
def test_conditions_are_validated_as_dynamodb_does(expression: str, values: Any,
                                                   message: str) -> None:
    with pytest.raises(ValidationException, match=message):
        evaluate_condition({}, expression, None, values)


def test_a_lone_placeholder_path_is_only_checked_for_being_the_same_path() -> None:
    """DynamoDB's overlap check does not look through a bare ``#name`` (moto records this)."""
    subs = Substitutions.from_request({"#m": "m"}, {":v": n("2")})
    assert len(parse_update("SET #m = :v REMOVE #m.j", subs).actions) == 2
    with pytest.raises(ValidationException, match="overlap"):
        parse_update("SET m = :v REMOVE m.j", subs)


def test_names_and_values_are_shared_by_a_requests_expressions() -> None:
    subs = Substitutions.from_request({"#v": "version"}, {":a": n("1"), ":b": n("2")})
    parse_update("SET #v = :a", subs)
    with pytest.raises(ValidationException, match="unused"):
        subs.check_all_used()
    parse_condition("#v = :b", subs)
    subs.check_all_used()


# -- KeyConditionExpression (Developer Guide, "Key condition expressions for Query") --


def key_condition(text: str, values: dict, key: tuple[str, ...] = ("customer", "placed")) -> Any:
    return parse_key_condition(text, Substitutions.from_request(values=values), key)


def test_key_conditions_take_the_hash_key_and_one_sort_key_condition() -> None:
    c1, d = s("c1"), s("2026-01")
    assert key_condition("customer = :c", {":c": c1}).sort is None
    kc = key_condition("placed BETWEEN :a AND :b AND customer = :c",
                       {":c": c1, ":a": d, ":b": s("2026-12")})
    assert kc.hash_value == "c1" and "BETWEEN" in str(kc.sort)
    assert key_condition("(customer = :c) AND placed >= :d", {":c": c1, ":d": d}).sort is not None


@pytest.mark.parametrize(("text", "message"), [
    ("customer = :c OR placed = :d", "Invalid operator used in KeyConditionExpression: OR"),
    ("customer <> :c", "Invalid operator used in KeyConditionExpression: <>"),
    ("customer = :c AND contains(placed, :d)", "Invalid operator.*contains"),
    ("placed = :d", "missed key schema element: customer"),
    ("customer < :c", "Query key condition not supported"),
    ("customer = :c AND amount = :d", "Query key condition not supported"),
    ("customer = :c AND placed = :d AND placed = :d", "length 1 or 2 only"),
])
def test_key_conditions_refuse_what_query_cannot_use(text: str, message: str) -> None:
    values = {k: s("x") for k in (":c", ":d") if k in text}
    with pytest.raises(ValidationException, match=message):
        key_condition(text, values)


@pytest.mark.parametrize("text", ["n = n", "n <> n", "size(a) > size(a)", "begins_with(s, s)",
                                  "contains(s, s)", "n IN (m, n)"])
def test_an_operator_whose_first_operand_repeats_is_refused(text: str) -> None:
    """DynamoDB (and dynalite, which mirrors its messages) refuses ``a = a``; found by review."""
    with pytest.raises(ValidationException, match="first operand must be distinct"):
        parse_condition(text, Substitutions.from_request())


def test_between_bounds_of_different_types_are_refused() -> None:
    subs = Substitutions.from_request(values={":a": s("a"), ":b": n("9")})
    with pytest.raises(ValidationException, match="same data type for lower and upper bounds"):
        parse_condition("n BETWEEN :a AND :b", subs)
