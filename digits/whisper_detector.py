""" "No digit heard" for the Whisper recogniser: a logistic regression on the Whisper features it already reads.

Its inputs are a clip's pooled encoder states, its zero-shot digit scores and those scores normalised over the
digits; its classes are the ten digits and each kind of non-digit (`refusal.LABELS`). It trains on the clips the
recogniser learns from outside the test split (every corpus), their noisy copies and the training non-digits.
Its threshold comes from voices it never heard (`refusal.assess`), as MFCC's detector's does. At prediction it
costs nothing: the recogniser's one pass of Whisper gives its inputs.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from digits import DigitsError
from digits.openset import digit_score
from digits.params import WhisperDetectorParams
from digits.refusal import (
    LABELS,
    Assessment,
    FoldScores,
    Strings,
    assess,
    held_out_scores,
    real_voices,
    signals_of,
    string_parts,
    voice_folds,
)
from digits.whisper import SAMPLE_RATE, Whisper
from digits.whisper_head import Head, detector_input, fit_head
from digits.whisper_table import load


@dataclass(frozen=True)
class Tables:
    """What the detector learns from and is scored on: the corpus clips' keys and inputs, the noisy copies' keys
    and inputs, and each split's non-digits (inputs, class labels)."""

    keys: pd.DataFrame
    x: np.ndarray
    copy_keys: pd.DataFrame
    copies: np.ndarray
    negatives: dict[str, tuple[np.ndarray, np.ndarray]]


def load_tables(features: Path, augmented: Path, negatives: Path) -> Tables:
    """The detector's `Tables` from the Whisper feature tables of the clips, their copies and the non-digits."""
    keys, states, scores, _ = load(features)
    split = keys["split"].to_numpy()
    if not (split == "val").any() or not (split == "test").any():
        raise DigitsError("the detector needs clips in the val and test splits (see ingest.val_size, test_size)")
    copy_keys, copy_states, copy_scores, _ = load(augmented)
    other_keys, other_states, other_scores, _ = load(negatives)
    inputs, labels = detector_input(other_states, other_scores), other_keys["kind"].map(LABELS.index).to_numpy()
    split = other_keys["split"].to_numpy()
    others = {name: (inputs[split == name], labels[split == name]) for name in ("train", "val", "test")}
    return Tables(keys, detector_input(states, scores), copy_keys, detector_input(copy_states, copy_scores), others)


def train_detector(c: float, data: Tables, voices: np.ndarray | None = None) -> Head:
    """A logistic regression (`whisper_head.fit_head`, inverse L2 strength `c`) on the train split's clips of
    `voices` (every voice when None) and their copies, against the training non-digits."""
    rows = (data.keys["split"] == "train").to_numpy()
    copy_rows = (data.copy_keys["split"] == "train").to_numpy()
    if voices is not None:
        rows = rows & data.keys["speaker"].isin(voices).to_numpy()
        copy_rows = copy_rows & data.copy_keys["speaker"].isin(voices).to_numpy()
    others_x, others_y = data.negatives["train"]
    x = np.concatenate([data.x[rows], data.copies[copy_rows], others_x])
    y = np.concatenate([data.keys["label"][rows], data.copy_keys["label"][copy_rows], others_y]).astype(int)
    return fit_head(x, y, c, classes=len(LABELS))


def probabilities(head: Head, x: np.ndarray) -> np.ndarray:
    """`(n, classes)` class probabilities of detector inputs `x`."""
    return np.exp(head.log_proba(x))


def fold_scores(
    p: WhisperDetectorParams, data: Tables, held_out: list[str], strings: Strings, whisper: Whisper | None,
    batch_size: int,
) -> FoldScores:  # fmt: skip
    """Train a detector without the voices `held_out`; (the digit scores of every corpus clip, NaN but for those
    voices' clips outside the test split, those of the val non-digits, those of the parts of each held-out real
    voice's digit strings, read by `whisper` in batches of `batch_size`; none without it)."""
    keys, signals = data.keys, signals_of(p.refuse_signals)
    head = train_detector(p.c, data, np.setdiff1d(keys["speaker"].unique(), held_out))
    scores = held_out_scores(keys, held_out, lambda rows: probabilities(head, data.x[rows]), signals)
    parts = {}
    for voice in real_voices(keys, held_out) if whisper is not None else []:
        audio = string_parts(keys, voice, strings, SAMPLE_RATE)
        found = [whisper.features(audio[i : i + batch_size], SAMPLE_RATE) for i in range(0, len(audio), batch_size)]
        if found:
            x = np.concatenate([detector_input(states, zero_shot) for states, zero_shot in found])
            parts[voice] = digit_score(probabilities(head, x), signals)
    return scores, digit_score(probabilities(head, data.negatives["val"][0]), signals), parts


def build_detector(
    p: WhisperDetectorParams, data: Tables, strings: Strings, whisper: Whisper | None, batch_size: int
) -> tuple[Head, dict, Assessment]:
    """Train the shipped detector on every voice and one per fold of `voice_folds`; choose its thresholds on the
    out-of-fold digits (`refusal.assess`; the parts of `strings`, read by `whisper`, get their own). Returns the
    detector, its `meta` (labels, thresholds, signals) and its `Assessment`."""
    folds = voice_folds(data.keys, p.folds, "whisper_detector.folds")
    results = []
    for k, held_out in enumerate(folds, 1):
        print(f"whisper detector: fold {k} of {len(folds)} ({len(held_out)} voices held out)", flush=True)
        results.append(fold_scores(p, data, held_out, strings, whisper, batch_size))
    head = train_detector(p.c, data)
    others = {name: (probabilities(head, x), labels) for name, (x, labels) in data.negatives.items() if name != "train"}
    signals = signals_of(p.refuse_signals)
    everything = probabilities(head, data.x)
    found = assess(data.keys, results, p.max_false_refusals, everything, others, signals)
    threshold, sequence_threshold = found.thresholds
    meta = {"labels": LABELS, "threshold": threshold, "sequence_threshold": sequence_threshold, "signals": signals}
    return head, meta, found
