"""Serialization: golden JSON per type, canonical bytes, round trips, and hostile input.

Decoding untrusted text may only ever raise SerializationError: checked with a
table of malformed documents, with arbitrary JSON, and with mutations of valid
documents fed to every ``from_json``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab import serialization
from replicalab.clocks import HybridLogicalClock, LamportClock, VectorClock
from replicalab.crdts import (
    GCounter,
    GSet,
    LWWMap,
    LWWRegister,
    MVRegister,
    ORMap,
    ORSet,
    PNCounter,
    TwoPhaseSet,
)
from replicalab.dots import CausalContext, Dot
from replicalab.errors import SerializationError
from replicalab.testing import strategies as rs

TYPES = [VectorClock, LamportClock, HybridLogicalClock, Dot, CausalContext, GCounter, PNCounter,
         GSet, TwoPhaseSet, ORSet, LWWRegister, MVRegister, LWWMap, ORMap]

# -- golden vectors: one per type (and per ORMap value type) ---------------------------------

GOLDEN = [
    (VectorClock({"alice": 2, "bob": 1}),
     '{"entries":{"alice":2,"bob":1},"format":"replicalab/vector-clock","schema_version":1}'),
    (LamportClock("a", 6),
     '{"format":"replicalab/lamport-clock","replica":"a","schema_version":1,"time":6}'),
    (HybridLogicalClock("b", 100, 1),
     '{"format":"replicalab/hybrid-logical-clock","logical":1,"replica":"b","schema_version":1,"wall":100}'),
    (Dot("a", 3), '{"counter":3,"format":"replicalab/dot","replica":"a","schema_version":1}'),
    (CausalContext().add(Dot("a", 1)).add(Dot("a", 3)),
     '{"cloud":[["a",3]],"format":"replicalab/causal-context","schema_version":1,"vv":{"a":1}}'),
    (GCounter().increment("a", 3).increment("b"),
     '{"counts":{"a":3,"b":1},"format":"replicalab/g-counter","schema_version":1}'),
    (PNCounter().increment("a", 5).decrement("b", 2),
     '{"decrements":{"b":2},"format":"replicalab/pn-counter","increments":{"a":5},"schema_version":1}'),
    (GSet().add("y").add(2).add(("t", 1)).add(None),
     '{"elements":["y",2,["t",1],null],"format":"replicalab/g-set","schema_version":1}'),
    (TwoPhaseSet().add("x").add("y").remove("x"),
     '{"added":["x","y"],"format":"replicalab/2p-set","removed":["x"],"schema_version":1}'),
    (ORSet().add("x", replica="a").add("y", replica="b").remove("x"),
     '{"context":{"cloud":[],"vv":{"a":1,"b":1}},"entries":[["y",[["b",1]]]],'
     '"format":"replicalab/or-set","schema_version":1}'),
    (LWWRegister().assign({"city": "London", "lines": ["12 High Street"]}, timestamp=50832140,
                          replica="eu-west-1"),
     '{"format":"replicalab/lww-register","marker":[50832140,"eu-west-1"],"schema_version":1,'
     '"value":{"city":"London","lines":["12 High Street"]}}'),
    (LWWRegister(), '{"format":"replicalab/lww-register","marker":null,"schema_version":1,"value":null}'),
    (MVRegister().assign("red", replica="a").merge(MVRegister().assign("blue", replica="b")),
     '{"context":{"a":1,"b":1},"entries":[[["a",1],"red"],[["b",1],"blue"]],'
     '"format":"replicalab/mv-register","schema_version":1}'),
    (LWWMap().set("delivery_address", "12 High Street, London", timestamp=140, replica="eu-west-1")
     .delete("phone", timestamp=189, replica="us-east-1"),
     '{"entries":[["delivery_address",140,"eu-west-1","12 High Street, London"],'
     '["phone",189,"us-east-1"]],"format":"replicalab/lww-map","schema_version":1}'),
    (ORMap().update("name", MVRegister.Assign("Ann", replica="a")),
     '{"context":{"cloud":[],"vv":{"a":1}},"entries":[["name",[[["a",1],"Ann"]]]],'
     '"format":"replicalab/or-map","kind":"mv-register","schema_version":1}'),
    (ORMap(PNCounter).update("qty", PNCounter.Increment("a", 2)).update("qty", PNCounter.Decrement("b")),
     '{"context":{"cloud":[],"vv":{"a":1,"b":1}},"entries":[["qty",[[["a",1],["a",2,0]],'
     '[["b",1],["b",0,1]]]]],"format":"replicalab/or-map","kind":"pn-counter","schema_version":1}'),
    (ORMap(ORSet).update("tags", ORSet.Add("x", replica="a")).update("tags", ORSet.Add("y", replica="a"))
     .update("tags", ORSet.Remove("x")),
     '{"context":{"cloud":[],"vv":{"a":2}},"entries":[["tags",[[["a",2],"y"]]]],'
     '"format":"replicalab/or-map","kind":"or-set","schema_version":1}'),
    (ORMap(LWWRegister).update("n", LWWRegister.Assign(1.5, timestamp=7, replica="c")),
     '{"context":{"cloud":[],"vv":{"c":1}},"entries":[["n",[[["c",1],[7,"c",1.5]]]]],'
     '"format":"replicalab/or-map","kind":"lww-register","schema_version":1}'),
]


@pytest.mark.parametrize(("value", "text"), GOLDEN, ids=[repr(v)[:40] for v, _ in GOLDEN])
def test_golden_vector(value, text):
    assert value.to_json() == text
    assert type(value).from_json(text) == value
    assert serialization.from_json(text) == value
    assert type(value).from_json(text.encode("ascii")) == value


def test_every_type_has_a_golden_vector():
    assert {type(v) for v, _ in GOLDEN} == set(TYPES)
    assert {v.kind for v, _ in GOLDEN if isinstance(v, ORMap)} == {MVRegister, PNCounter, ORSet, LWWRegister}
    assert {f"replicalab/{json.loads(t)['format'].split('/')[1]}" for _, t in GOLDEN} == set(serialization.FORMATS)


def test_canonical_text_is_ascii_sorted_and_compact():
    reg = LWWRegister().assign({"b": "Zürich ☃", "a": [1, 2.5, None, True]}, timestamp=1, replica="é")
    text = reg.to_json()
    assert text.isascii() and " " not in text.replace("Z\\u00fcrich \\u2603", "")
    assert text == serialization.dumps(json.loads(text))
    assert LWWRegister.from_json(text) == reg


# -- round trips over reachable states ---------------------------------------------------------

STATE_KINDS = [GCounter, PNCounter, GSet, TwoPhaseSet, ORSet, LWWRegister, MVRegister, LWWMap,
               ORMap(MVRegister), ORMap(LWWRegister), ORMap(ORSet), ORMap(PNCounter),
               VectorClock, CausalContext]


@pytest.mark.parametrize("kind", STATE_KINDS, ids=[getattr(k, "__name__", repr(k)) for k in STATE_KINDS])
@given(data=st.data())
def test_round_trip_is_exact_and_canonical(kind, data):
    state = data.draw(rs.crdt_states(kind))
    text = state.to_json()
    back = type(state).from_json(text)
    assert back == state and back.to_json() == text
    assert serialization.from_json(text) == state


@given(rs.lamport_clocks(), rs.hybrid_logical_clocks(), rs.dots())
def test_round_trip_of_lamport_hlc_and_dot(lamport, hlc, dot):
    for value in (lamport, hlc, dot):
        assert type(value).from_json(value.to_json()) == value


# -- the value domain ----------------------------------------------------------------------------

@pytest.mark.parametrize("element", [1.5, True, False, frozenset({1}), b"x", ("t", 1.5), ("t", True)])
def test_elements_outside_the_domain_refuse_to_serialize(element):
    with pytest.raises(SerializationError, match="element domain"):
        GSet([element]).to_json()
    with pytest.raises(SerializationError, match="element domain"):
        ORMap().update(element, MVRegister.Assign("v", replica="a")).to_json()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), (1, 2), {1: "int key"}, {1, 2}, b"raw"])
def test_values_outside_the_domain_refuse_to_serialize(value):
    with pytest.raises(SerializationError):
        LWWRegister().assign(value, timestamp=1, replica="a").to_json()


# -- ops -------------------------------------------------------------------------------------

OP_GOLDEN = [
    (GCounter.Increment("a", 3),
     '{"fields":{"n":3,"replica":"a"},"format":"replicalab/op","op":"GCounter.Increment","schema_version":1}'),
    (ORSet().add("x", replica="a").remove_op("x"),
     '{"fields":{"element":"x","observed":[["a",1]]},"format":"replicalab/op","op":"ORSet.Remove",'
     '"schema_version":1}'),
    (ORMap(PNCounter).update_op("q", PNCounter.Decrement("b", 2)),
     '{"fields":{"dot":["b",1],"key":"q","observed":[],"op":{"fields":{"n":2,"replica":"b"},'
     '"op":"PNCounter.Decrement"},"payload":["b",0,2]},"format":"replicalab/op","op":"ORMap.Update",'
     '"schema_version":1}'),
]


@pytest.mark.parametrize(("op", "text"), OP_GOLDEN, ids=[repr(op)[:30] for op, _ in OP_GOLDEN])
def test_op_golden_vector(op, text):
    assert op.to_json() == text
    assert serialization.op_from_json(text) == op == serialization.from_json(text)
    assert type(op).from_json(text) == op


def test_a_fresh_process_decodes_every_format_and_op_importing_only_serialization():
    """``import replicalab`` imports only what is used (issue #20, B15), so a process that reads
    documents may have loaded none of the types they name: ``from_json`` imports a type's module
    from its fixed table (never a module a document names) and decodes the same values."""
    texts = [text for _, text in GOLDEN] + [text for _, text in OP_GOLDEN]
    code = ("import json, sys; from replicalab import serialization; "
            "assert 'replicalab.crdts' not in sys.modules and 'replicalab.clocks' not in sys.modules; "
            "print(json.dumps([repr(serialization.from_json(t)) for t in json.load(sys.stdin)]))")
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True,
                         text=True, check=True)
    expected = [repr(value) for value, _ in GOLDEN] + [repr(op) for op, _ in OP_GOLDEN]
    assert json.loads(out.stdout) == expected


def test_a_name_outside_the_table_imports_nothing():
    before = set(sys.modules)
    with pytest.raises(SerializationError, match="unknown op"):
        serialization.op_from_json('{"fields":{},"format":"replicalab/op","op":"os.system","schema_version":1}')
    with pytest.raises(SerializationError, match="not a type replicalab decodes"):
        serialization._registered("Unknown")
    assert set(sys.modules) == before


OP_KINDS = STATE_KINDS[:12]


@pytest.mark.parametrize("kind", OP_KINDS, ids=[getattr(k, "__name__", repr(k)) for k in OP_KINDS])
@given(data=st.data())
def test_ops_round_trip_prepared_or_not(kind, data):
    state = data.draw(rs.crdt_states(kind))
    op = data.draw(rs.crdt_ops(kind))
    for value in (op, op.prepare(state)):
        text = value.to_json()
        assert serialization.op_from_json(text) == value
        assert serialization.op_from_json(text).to_json() == text


def test_an_op_decoded_as_the_wrong_type_is_refused():
    with pytest.raises(SerializationError, match="expected a GSet.Add op"):
        GSet.Add.from_json(OP_GOLDEN[0][1])


def test_ship_state_delta_or_op_and_compare_bytes():
    """Three ways to ship one increment: the full state grows with the replicas that ever counted;
    the delta (one slot, the new total) and the op ("+1") do not."""
    sizes = {}
    for replicas in (16, 64):
        counter = GCounter({f"r{i:02}": 5 for i in range(replicas)})
        sizes[replicas] = (len(counter.increment("r00", 1).to_json()),
                           len(counter.increment_delta("r00", 1).to_json()),
                           len(counter.increment_op("r00", 1).to_json()))
    (state16, delta16, op16), (state64, delta64, op64) = sizes[16], sizes[64]
    assert state64 > 3 * state16 and (delta16, op16) == (delta64, op64)
    assert max(delta16, op16) < state16


# -- hostile documents ---------------------------------------------------------------------------

VALID = GOLDEN[9][1]  # the OR-Set document
BAD_DOCUMENTS = {
    "unknown field": VALID[:-1] + ',"extra":1}',
    "missing field": '{"format":"replicalab/or-set","schema_version":1,"entries":[]}',
    "bool for an int": '{"counts":{"a":true},"format":"replicalab/g-counter","schema_version":1}',
    "float for an int": '{"counts":{"a":1.0},"format":"replicalab/g-counter","schema_version":1}',
    "negative count": '{"counts":{"a":-1},"format":"replicalab/g-counter","schema_version":1}',
    "empty replica id": '{"counts":{"":1},"format":"replicalab/g-counter","schema_version":1}',
    "duplicate key": '{"counts":{"a":1,"a":2},"format":"replicalab/g-counter","schema_version":1}',
    "duplicate header": '{"counts":{},"format":"replicalab/g-counter","format":"x","schema_version":1}',
    "NaN": '{"format":"replicalab/lww-register","marker":null,"schema_version":1,"value":NaN}',
    "Infinity": '{"format":"replicalab/lww-register","marker":null,"schema_version":1,"value":Infinity}',
    "-Infinity": '{"format":"replicalab/lww-register","marker":null,"schema_version":1,"value":-Infinity}',
    "float overflow": '{"format":"replicalab/lww-register","marker":null,"schema_version":1,"value":1e400}',
    "huge int": '{"counts":{"a":' + "9" * 5000 + '},"format":"replicalab/g-counter","schema_version":1}',
    "over-deep": '{"format":"replicalab/lww-register","marker":null,"schema_version":1,"value":'
                 + "[" * 60 + "]" * 60 + "}",
    "absurdly deep": "[" * 100_000 + "]" * 100_000,
    "wrong format": VALID.replace("or-set", "g-set"),
    "unknown format": '{"format":"replicalab/pickle","schema_version":1}',
    "schema 2": VALID.replace('"schema_version":1', '"schema_version":2'),
    "schema as string": VALID.replace('"schema_version":1', '"schema_version":"1"'),
    "schema as bool": VALID.replace('"schema_version":1', '"schema_version":true'),
    "top-level array": "[1,2,3]",
    "not JSON": "{'format': 'replicalab/g-counter'}",
    "trailing garbage": VALID + "x",
    "empty": "",
    "dot counter zero": VALID.replace('[["b",1]]', '[["b",0]]'),
    "dot not in context": VALID.replace('[["b",1]]', '[["b",5]]'),
    "one dot two elements": '{"context":{"cloud":[],"vv":{"a":1}},"entries":[["x",[["a",1]]],["y",[["a",1]]]],'
                            '"format":"replicalab/or-set","schema_version":1}',
    "element listed twice": '{"elements":["x","x"],"format":"replicalab/g-set","schema_version":1}',
    "float element": '{"elements":[1.5],"format":"replicalab/g-set","schema_version":1}',
    "object element": '{"elements":[{"a":1}],"format":"replicalab/g-set","schema_version":1}',
    "map key twice": '{"entries":[["k",1,"a",1],["k",2,"a"]],"format":"replicalab/lww-map","schema_version":1}',
    "short map row": '{"entries":[["k",1]],"format":"replicalab/lww-map","schema_version":1}',
    "unknown map kind": '{"context":{"cloud":[],"vv":{}},"entries":[],"format":"replicalab/or-map",'
                        '"kind":"g-counter","schema_version":1}',
    "bad counter payload": '{"context":{"cloud":[],"vv":{"a":1}},"entries":[["q",[[["a",1],["a",-2,0]]]]],'
                           '"format":"replicalab/or-map","kind":"pn-counter","schema_version":1}',
    "context with extra field": VALID.replace('"cloud":[]', '"cloud":[],"x":1'),
    "lww value without marker pair": '{"format":"replicalab/lww-register","marker":[1],"schema_version":1,'
                                     '"value":1}',
    "unknown op": '{"fields":{},"format":"replicalab/op","op":"os.system","schema_version":1}',
    "op with unknown field": OP_GOLDEN[0][1].replace('"n":3', '"n":3,"evil":1'),
    "op missing a field": OP_GOLDEN[0][1].replace(',"replica":"a"', ''),
    "op negative amount": OP_GOLDEN[0][1].replace('"n":3', '"n":-3'),
    "op nested too deep": '{"fields":{"key":"k","op":{"fields":{"key":"k","op":{"fields":{},"op":"ORMap.Remove"}},'
                          '"op":"ORMap.Update"}},"format":"replicalab/op","op":"ORMap.Update","schema_version":1}',
    "op prepared halfway": '{"fields":{"dot":["a",1],"element":"x","replica":"a"},"format":"replicalab/op",'
                           '"op":"ORSet.Add","schema_version":1}',
    "mv entry outside context": '{"context":{"a":1},"entries":[[["a",2],"red"]],"format":"replicalab/mv-register",'
                                '"schema_version":1}',
}


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
def test_malformed_documents_are_rejected_with_serialization_error(name):
    text = BAD_DOCUMENTS[name]
    with pytest.raises(SerializationError):
        serialization.from_json(text)
    for cls in TYPES:
        try:
            cls.from_json(text)
        except SerializationError:
            continue
        pytest.fail(f"{cls.__name__}.from_json accepted {name}")


def test_oversized_input_is_rejected_before_parsing():
    text = GOLDEN[5][1]
    with pytest.raises(SerializationError, match="exceeds the limit"):
        GCounter.from_json(text, max_bytes=len(text) - 1)
    with pytest.raises(SerializationError, match="exceeds the limit"):
        GCounter.from_json(" " * (serialization.MAX_DOCUMENT_BYTES + 1))
    assert GCounter.from_json(text, max_bytes=len(text)) == GOLDEN[5][0]


def test_bytes_that_are_not_utf8_are_rejected():
    with pytest.raises(SerializationError, match="UTF-8"):
        GCounter.from_json(b"\xff\xfe{}")
    with pytest.raises(SerializationError):
        GCounter.from_json(12345)  # type: ignore[arg-type]


# -- fuzzing: only SerializationError may escape ---------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6) | st.sampled_from(["replicalab/or-set", "a", "", "x"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["format", "schema_version", "entries", "context", "vv", "cloud", "counts",
                         "elements", "added", "removed", "value", "marker", "kind", "replica", "time",
                         "wall", "logical", "counter", "increments", "decrements", "x"]),
        inner, max_size=5),
    max_leaves=20,
)


def decode_everywhere(text):
    for cls in TYPES:
        try:
            result = cls.from_json(text)
        except SerializationError:
            continue
        assert type(result).from_json(result.to_json()) == result  # whatever decodes is a valid value
    for decode in (serialization.from_json, serialization.op_from_json):
        try:
            decode(text)
        except SerializationError:
            pass


@given(json_values)
def test_arbitrary_json_only_ever_raises_serialization_error(value):
    decode_everywhere(json.dumps(value))


@given(st.text(max_size=60))
def test_arbitrary_text_only_ever_raises_serialization_error(text):
    decode_everywhere(text)


VALID_DOCUMENTS = [text for _, text in GOLDEN] + [text for _, text in OP_GOLDEN]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _paths(child, (*prefix, i))


def _replace(node, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {**node, head: _replace(node[head], rest, new)}
    return [*node[:head], _replace(node[head], rest, new), *node[head + 1:]]


def _get(node, path):
    for step in path:
        node = node[step]
    return node


def _delete(node, path):
    head, rest = path[0], path[1:]
    if rest:
        return _replace(node, path[:1], _delete(node[head], rest))
    if isinstance(node, dict):
        return {k: v for k, v in node.items() if k != head}
    return [*node[:head], *node[head + 1:]]


@given(st.sampled_from(VALID_DOCUMENTS), st.data())
def test_mutated_valid_documents_only_ever_raise_serialization_error(text, data):
    doc = json.loads(text)
    paths = list(_paths(doc))
    path = data.draw(st.sampled_from(paths))
    how = data.draw(st.sampled_from(["replace", "delete", "wrap", "text"]))
    if how == "replace":
        mutated = _replace(doc, path, data.draw(json_values | st.sampled_from([True, 1.0, -1, 0, "", []])))
    elif how == "delete" and path:
        mutated = _delete(doc, path)
    elif how == "wrap":
        mutated = _replace(doc, path, [_get(doc, path)])
    else:
        position = data.draw(st.integers(0, len(text)))
        junk = data.draw(st.sampled_from(["", ",", "NaN", '"', "]", "{", "1e999", "true", '"a":1,']))
        decode_everywhere(text[:position] + junk + text[position + 1:])
        return
    decode_everywhere(json.dumps(mutated))
