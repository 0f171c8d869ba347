"""Digit strings read by the Whisper recogniser's leave-one-speaker-out folds (MFCC's folds read theirs in
`folds.train_fold`)."""

import numpy as np
import pandas as pd

from digits.params import StringParams
from digits.segment import PauseParams
from digits.strings import strings_of
from digits.whisper import SAMPLE_RATE, Whisper
from digits.whisper_head import Copies, Head, combine, fit_with


def fold_strings(
    keys: pd.DataFrame, states: np.ndarray, folds: dict, c: float, copies: Copies | None, whisper: Whisper,
    batch_size: int, p: StringParams, pauses: PauseParams,
) -> dict[str, dict]:  # fmt: skip
    """How each fold's recogniser (a head trained without its speaker, with the fold's `weight` in `folds`) reads
    digit strings of its held-out speaker's clips (`strings.strings_of`), by speaker."""
    labels, speakers = keys["label"].to_numpy(), keys["speaker"].to_numpy()
    found = {}
    for speaker, fold in folds.items():
        own = speakers == speaker
        head = fit_with(states[~own], labels[~own], c, copies, speaker)

        def read(parts: list[np.ndarray], head: Head = head, weight: float = fold["weight"]) -> np.ndarray:
            batches = [
                whisper.features(parts[i : i + batch_size], SAMPLE_RATE) for i in range(0, len(parts), batch_size)
            ]
            return np.concatenate([combine(scores, head.log_proba(pooled), weight) for pooled, scores in batches])

        found[speaker] = strings_of(read, keys[own], SAMPLE_RATE, p, pauses)
    return found
