"""Exercise: choose R and W for a staleness budget (replicalab exercise ``choose-quorum``).

A Dynamo cluster keeps N copies of each key. A write is acknowledged after W of them have
it; a read is answered after R of them replied. Reads on your service often come right after
a write, before it has spread to the other N - W copies (tutorial chapter 14).

For each budget below, choose the *cheapest* quorum that keeps the fraction of such fresh
reads that miss the write within the budget: the smallest R + W, and among those the smallest
W (writes are your hot path). Write each answer as the string "N/R/W", e.g. "5/2/4".

    replicalab exercise check choose-quorum choose_quorum.py

You may check your arithmetic with ``replicalab.scenarios.pbs.closed_form(n, r, w)`` and
measure it on the cluster with ``replicalab.scenarios.pbs.measure_fresh_read_miss``.
"""

#: N = 5 copies; at most 10% of reads issued right after a write may miss it.
QUORUM_5 = ""

#: N = 6 copies; at most 5% of reads issued right after a write may miss it.
QUORUM_6 = ""
