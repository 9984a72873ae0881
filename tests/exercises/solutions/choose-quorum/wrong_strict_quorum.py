"""Planted wrong answer: R + W > N always works, but it is not the cheapest within the budget."""

QUORUM_5 = "5/3/3"
QUORUM_6 = "6/4/3"
