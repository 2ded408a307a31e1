"""Allocation engine for the smartphone hand-over rounds of Ho Chi Minh City.

Reads a scenario folder (see `engine-contract.md`), finds the lexicographic
optimum and writes a result folder. Usable without the web service or store.
"""

__version__ = "0.1.0"
