"""What the Whisper recogniser's leave-one-speaker-out folds read beyond the feature table: digit strings of the
held-out voice, and the voice in noise (MFCC's folds read theirs in `folds.train_fold`)."""

import numpy as np
import pandas as pd

from digits.fusion import CLEAN, fold_table
from digits.noisy import voice_in_noise
from digits.params import StringParams, VoiceNoiseParams
from digits.segment import PauseParams
from digits.strings import strings_of
from digits.whisper import SAMPLE_RATE, Whisper
from digits.whisper_head import Copies, Head, combine, fit_with


def fold_readings(
    keys: pd.DataFrame, states: np.ndarray, scores: np.ndarray, folds: dict, c: float, copies: Copies | None,
    whisper: Whisper, batch_size: int, strings: tuple[StringParams, PauseParams] | None,
    noise: VoiceNoiseParams | None,
) -> tuple[dict[str, dict], pd.DataFrame]:  # fmt: skip
    """({speaker: how its fold reads digit strings of its clips (`strings.strings_of`), with `strings`}, each fold's
    log-probabilities of its voice's clips, clean and, with `noise`, in noise (`noisy.voice_in_noise`), as
    `fusion.fold_table` rows). A fold's recogniser: a head trained without its speaker, with its `weight` in
    `folds`."""
    labels, speakers = keys["label"].to_numpy(), keys["speaker"].to_numpy()
    read_strings, tables = {}, []
    for speaker, fold in folds.items():
        own = speakers == speaker
        head = fit_with(states[~own], labels[~own], c, copies, speaker)

        def read(
            parts: list[np.ndarray], rate: int = SAMPLE_RATE, head: Head = head, weight: float = fold["weight"]
        ) -> np.ndarray:
            batches = [whisper.features(parts[i : i + batch_size], rate) for i in range(0, len(parts), batch_size)]
            return np.concatenate([combine(found, head.log_proba(pooled), weight) for pooled, found in batches])

        if strings is not None:
            read_strings[speaker] = strings_of(read, keys[own], SAMPLE_RATE, *strings)
        tables.append(fold_table(keys[own], CLEAN, combine(scores[own], head.log_proba(states[own]), fold["weight"])))
        if noise is not None:
            chosen, rate, mixes = voice_in_noise(keys, speaker, noise)
            tables += [fold_table(chosen, kind, read(audio, rate)) for kind, audio in mixes.items()]
    return read_strings, pd.concat(tables, ignore_index=True)
