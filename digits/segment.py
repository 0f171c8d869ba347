"""Splitting a recording of several digits at the pauses between them (energy-based).

A frame is voiced when its level is `threshold_db` above the recording's noise floor (the level
of its quietest 10 % of frames) and at most `range_db` below its loudest frame. Voiced runs closer
than `min_pause` seconds are joined (digits such as "six" and "eight" have short silent closures
inside them), runs shorter than `min_digit` seconds are dropped, and each kept run is widened by
`margin` seconds on both sides.
"""

from dataclasses import dataclass

import numpy as np

from digits.dsp import frames


@dataclass(frozen=True)
class PauseParams:
    """Settings of `split_at_pauses` (params.yaml's `predict.sequence`)."""

    frame: float  # analysis frame and hop, seconds
    threshold_db: float
    range_db: float
    min_pause: float
    min_digit: float
    margin: float


def frame_levels(y: np.ndarray, frame_length: int) -> np.ndarray:
    """Level in dB of consecutive centred frames of `frame_length` samples (hop = frame length)."""
    power = np.mean(frames(y.astype(np.float64), frame_length, frame_length) ** 2, axis=-1)
    return 10 * np.log10(np.maximum(power, 1e-12))


def split_at_pauses(y: np.ndarray, sr: int, p: PauseParams) -> list[tuple[int, int]]:
    """`(start, end)` sample ranges of the digits in mono audio `y`, in order."""
    if len(y) == 0:
        return []
    hop = max(1, round(p.frame * sr))
    level = frame_levels(y, hop)
    voiced = (level > np.percentile(level, 10) + p.threshold_db) & (level > level.max() - p.range_db)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    runs = [[start, end] for start, end in zip(edges[::2], edges[1::2], strict=True)]
    joined: list[list[int]] = []
    for run in runs:
        if joined and (run[0] - joined[-1][1]) * p.frame < p.min_pause:
            joined[-1][1] = run[1]
        else:
            joined.append(run)
    margin = round(p.margin * sr)
    # Frame i is centred on sample i * hop, so it covers [i * hop - hop / 2, i * hop + hop / 2).
    return [
        (max(0, start * hop - hop // 2 - margin), min(len(y), end * hop - hop // 2 + margin))
        for start, end in joined
        if (end - start) * p.frame >= p.min_digit
    ]
