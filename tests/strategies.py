"""Hypothesis strategies over tiny domains, so collisions and ties actually happen."""

from hypothesis import strategies as st

from replicalab.clocks import VectorClock

REPLICAS = ["a", "b", "c"]
replica_ids = st.sampled_from(REPLICAS)
vector_clocks = st.dictionaries(replica_ids, st.integers(0, 3)).map(VectorClock)
