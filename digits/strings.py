"""Digit strings, a phone number said in one go: built from one speaker's clips, read as `digits predict
--sequence` reads them (split at the pauses, each part recognised), scored whole."""

from collections.abc import Callable

import numpy as np
import pandas as pd

from digits.audio import read_clips
from digits.params import StringParams
from digits.segment import PauseParams, split_at_pauses

EDGE_SECONDS = 0.3  # silence before the first digit and after the last


def digit_strings(
    clips: list[np.ndarray], labels: np.ndarray, sr: int, count: int, length: int, pause: tuple[float, float],
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """`count` (audio, digits) strings, each `length` different `clips` (mono, at `sr`) in a random order joined
    by silences uniform in `pause` seconds."""
    strings = []
    for _ in range(count):
        chosen = rng.choice(len(clips), size=min(length, len(clips)), replace=False)
        edge = np.zeros(round(EDGE_SECONDS * sr), np.float32)
        parts = [edge]
        for i in chosen:
            parts += [np.asarray(clips[i], np.float32), np.zeros(round(rng.uniform(*pause) * sr), np.float32)]
        strings.append((np.concatenate([*parts[:-1], edge]), np.asarray(labels)[chosen]))
    return strings


def read_strings(
    recognise: Callable[[list[np.ndarray]], np.ndarray], strings: list[tuple[np.ndarray, np.ndarray]], sr: int,
    pauses: PauseParams,
) -> dict:  # fmt: skip
    """How `recognise` (clips -> `(n, 10)` scores) reads `strings` split at the pauses: the share read whole and
    right, the share split into the wrong number of parts, and the share of digits right in the others."""
    cuts = [split_at_pauses(y, sr, pauses) for y, _ in strings]
    parts = [y[start:end] for (y, _), found in zip(strings, cuts, strict=True) for start, end in found]
    read = np.asarray(recognise(parts)).argmax(axis=1) if parts else np.zeros(0, int)
    whole, miscounted, digits, right = 0, 0, 0, 0
    offset = 0
    for (_, truth), found in zip(strings, cuts, strict=True):
        said, offset = read[offset : offset + len(found)], offset + len(found)
        if len(said) != len(truth):
            miscounted += 1
            continue
        whole += int((said == truth).all())
        digits, right = digits + len(truth), right + int((said == truth).sum())
    return {
        "strings": len(strings),
        "string_accuracy": round(whole / max(len(strings), 1), 6),
        "miscounted": round(miscounted / max(len(strings), 1), 6),
        "digit_accuracy": round(right / max(digits, 1), 6),
    }


def strings_of(
    recognise: Callable[[list[np.ndarray]], np.ndarray], clips: pd.DataFrame, sr: int, p: StringParams,
    pauses: PauseParams,
) -> dict:  # fmt: skip
    """`read_strings` of `p.count` digit strings of the manifest `clips` (`path`, `label`: one speaker's), read
    at `sr` Hz, by `recognise` (mono clips at `sr` -> `(n, 10)` scores)."""
    audio = read_clips(clips["path"], sr)
    rng = np.random.default_rng(p.seed)
    built = digit_strings(audio, clips["label"].to_numpy(), sr, p.count, p.length, p.pause, rng)
    return read_strings(recognise, built, sr, pauses)
