"""DynamoDB attribute values: numbers, sets and the JSON round trip, as DynamoDB defines them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.dynamodb.exceptions import ValidationException
from replicalab.dynamodb.values import (
    equal,
    from_item,
    number,
    number_text,
    to_dynamodb,
    to_item,
    to_python,
    type_of,
)
from replicalab.errors import InvalidRequest


def test_numbers_are_stored_in_canonical_form() -> None:
    assert number_text(number("0012.3400")) == "12.34"
    assert number_text(number("1E+2")) == "100"
    assert number_text(number("-0")) == "0"
    assert number_text(number("+5")) == "5"
    assert number_text(number(".5")) == "0.5"


def test_thirty_eight_significant_digits_are_the_limit() -> None:
    assert number("9" * 38) == Decimal("9" * 38)
    assert number("1" + "0" * 100) == Decimal("1E100")  # trailing zeros are not significant
    with pytest.raises(ValidationException, match="38 significant digits"):
        number("1" * 39)


def test_the_exponent_range_is_enforced_both_ways() -> None:
    assert number("9.9999999999999999999999999999999999999E+125")
    assert number("1E-130")
    with pytest.raises(ValidationException, match="overflow"):
        number("1E+126")
    with pytest.raises(ValidationException, match="underflow"):
        number("1E-131")


@pytest.mark.parametrize("text", ["", "abc", "NaN", "Infinity", "1e", " 1", "0x10", "1_000"])
def test_text_that_is_not_a_number_is_refused(text: str) -> None:
    with pytest.raises(ValidationException):
        number(text)


def test_floats_are_refused_as_boto3_refuses_them() -> None:
    with pytest.raises(ValidationException, match="inexact"):
        number(0.5)


@pytest.mark.parametrize("kind", ["SS", "NS", "BS"])
def test_an_empty_set_is_refused(kind: str) -> None:
    """DynamoDB has no empty sets: removing the last member removes the attribute."""
    with pytest.raises(ValidationException, match="may not be empty"):
        to_python({kind: []})


def test_a_set_with_duplicates_is_refused() -> None:
    with pytest.raises(ValidationException, match="duplicates"):
        to_python({"SS": ["a", "a"]})
    with pytest.raises(ValidationException, match="duplicates"):
        to_python({"NS": ["1", "1.0"]})  # equal as numbers


def test_a_number_set_does_not_take_strings_and_a_python_set_must_not_mix_types() -> None:
    with pytest.raises(ValidationException):
        to_python({"NS": ["1", "x"]})
    with pytest.raises(ValidationException, match="must all be strings"):
        to_dynamodb({"x", 1})


def test_malformed_attribute_values_are_validation_errors() -> None:
    for bad in ({}, {"S": "a", "N": "1"}, {"X": "a"}, {"S": 1}, {"NULL": False}, {"BOOL": "true"},
                {"M": []}, {"L": {}}, "a", None, {"B": "not base64!"}):
        with pytest.raises(ValidationException):
            to_python(bad)


def test_nesting_deeper_than_32_levels_is_refused() -> None:
    value: dict = {"S": "x"}
    for _ in range(40):
        value = {"L": [value]}
    with pytest.raises(ValidationException, match="Nesting"):
        to_python(value)


def test_a_validation_error_is_a_replicalab_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        to_python({"SS": []})


def test_equality_compares_types_and_sets_by_content() -> None:
    assert not equal(Decimal(1), True)
    assert not equal("1", Decimal(1))
    assert equal(frozenset({"a", "b"}), frozenset({"b", "a"}))
    assert equal({"a": [Decimal(1)]}, {"a": [Decimal("1.0")]})
    assert not equal([Decimal(1), Decimal(2)], [Decimal(2), Decimal(1)])
    assert type_of(frozenset({Decimal(1)})) == "NS"


ATTRIBUTE = st.recursive(
    st.one_of(
        st.builds(lambda s: {"S": s}, st.text(max_size=5)),
        st.builds(lambda n: {"N": str(n)}, st.integers(-10**6, 10**6)),
        st.builds(lambda b: {"B": b}, st.binary(max_size=4)),
        st.builds(lambda b: {"BOOL": b}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(max_size=3), min_size=1, max_size=3)),
        st.builds(lambda s: {"NS": [str(n) for n in sorted(s)]},
                  st.sets(st.integers(-99, 99), min_size=1, max_size=3)),
    ),
    lambda inner: st.one_of(st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
                            st.builds(lambda v: {"M": v},
                                      st.dictionaries(st.text(min_size=1, max_size=3), inner,
                                                      max_size=3))),
    max_leaves=8,
)


@given(st.dictionaries(st.text(min_size=1, max_size=4), ATTRIBUTE, max_size=4))
def test_dynamodb_json_round_trips_through_python_values(item: dict) -> None:
    assert from_item(to_item(item)) == item
