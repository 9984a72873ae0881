"""Planted wrong answer: the right total for N=5, but the split with the smaller R, not W."""

QUORUM_5 = "5/2/3"
QUORUM_6 = "6/3/3"
