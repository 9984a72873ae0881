"""Reference: the cheapest quorums within each budget (C(N-W,R)/C(N,R) by hand)."""

# N=5: R+W=4 gives 0.4, 0.3, 0.4; R+W=5 gives 0.2, 0.1 (R=2 W=3), 0.1 (R=3 W=2), 0.2.
QUORUM_5 = "5/3/2"
# N=6: R+W=6 gives 0.333, 0.067, 0.05 (R=3 W=3), 0.067, 0.333; only 3/3 is within 5%.
QUORUM_6 = "6/3/3"
