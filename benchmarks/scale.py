"""One knob for every benchmark: with `DIGITS_BENCH=smoke` each runs at a tiny size, as CI's smoke test runs them
(each must finish and print its lines; the figures then mean nothing). `make bench` leaves it unset."""

import os
from typing import TypeVar

SMOKE = os.environ.get("DIGITS_BENCH") == "smoke"
T = TypeVar("T")


def sized(full: T, smoke: T) -> T:
    """`full`, or `smoke` when the benchmarks run as a smoke test."""
    return smoke if SMOKE else full
