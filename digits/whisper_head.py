"""The Whisper recogniser: a logistic regression on the pooled encoder states that refines the zero-shot digit scores.

Its log-probabilities are added to the zero-shot ones with a weight (`combine`); weight 0 is the zero-shot
recogniser itself, so six voices can only refine what Whisper already knows, and the weight is chosen on
voices the head never heard (`out_of_fold`, `choose_weight`). `WhisperModel` is the shipped recogniser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

from digits import DigitsError, replacing_dir
from digits.fusion import fuse
from digits.whisper import Whisper, WhisperParams, log_softmax

if TYPE_CHECKING:  # tables only in the training's signatures: `digits predict` starts without pandas
    import pandas as pd

HEAD_FILE = "head.npz"
META_FILE = "model.json"


@dataclass(frozen=True)
class Head:
    """A linear softmax classifier on standardised pooled states: `(x - mean) / scale @ coef.T + intercept`."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def log_proba(self, states: np.ndarray) -> np.ndarray:
        """`(n, classes)` log-probabilities of each class (digit) for inputs (pooled states) `(n, d)`."""
        logits = ((np.asarray(states, np.float64) - self.mean) / self.scale) @ self.coef.T + self.intercept
        return log_softmax(logits)


def fit_head(states: np.ndarray, labels: np.ndarray, c: float, classes: int = 10) -> Head:
    """A multinomial logistic regression (scikit-learn, L2 with inverse strength `c`) on standardised `states`,
    with labels `0 .. classes - 1` (every one present).

    Its BLAS runs on one thread: the thread count changes how sums are split, so the same bits whatever the
    machine's cores (and, on 2 cores, faster than two threads: 51 s against 86 s for stage `whisper_detector`)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(states, np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    with threadpool_limits(1, user_api="blas"):
        model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, labels)
    if list(model.classes_) != list(range(classes)):
        raise DigitsError(f"the head needs clips of all {classes} classes, got {sorted(model.classes_)}")
    return Head(mean, scale, model.coef_, model.intercept_)


def combine(scores: np.ndarray, head_log_proba: np.ndarray, weight: float) -> np.ndarray:
    """`(n, 10)` log-probabilities: the zero-shot scores, normalised over the digits, plus `weight` times the
    head's."""
    return log_softmax(log_softmax(scores) + weight * head_log_proba)


class Fusion(Protocol):
    """A second recogniser whose log-probabilities the shipped one adds to Whisper's at `weight`
    (`runtime.MfccFusion`: the MFCC model)."""

    weight: float

    def log_proba(self, clips: list[np.ndarray], sample_rate: int) -> np.ndarray: ...


@dataclass(frozen=True)
class Copies:
    """Extra training rows: noisy copies' pooled states, labels and speakers (a head never trains on a copy of the
    speaker it is scored on)."""

    states: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray

    def without(self, speaker: str | None) -> tuple[np.ndarray, np.ndarray]:
        """(states, labels) of the copies of every speaker but `speaker`."""
        keep = self.speakers != speaker
        return self.states[keep], self.labels[keep]


def copies_of(keys: pd.DataFrame, states: np.ndarray) -> Copies:
    """The `Copies` of a table of noisy copies (its keys and pooled states)."""
    return Copies(states, keys["label"].to_numpy(), keys["speaker"].to_numpy())


def fit_with(states: np.ndarray, labels: np.ndarray, c: float, copies: Copies | None, speaker: str | None) -> Head:
    """`fit_head` on `states` and, when given, the `copies` of every speaker but `speaker`."""
    if copies is not None:
        extra_states, extra_labels = copies.without(speaker)
        states, labels = np.concatenate([states, extra_states]), np.concatenate([labels, extra_labels])
    return fit_head(states, labels, c)


def out_of_fold(
    states: np.ndarray, labels: np.ndarray, speakers: np.ndarray, held_out: list[str], c: float,
    copies: Copies | None = None,
) -> np.ndarray:  # fmt: skip
    """Head log-probabilities `(n, 10)` of each clip of a `held_out` speaker from a head trained on every other
    clip (and copy) but that speaker's; NaN for the clips of no held-out speaker."""
    found = np.full((len(states), 10), np.nan)
    for speaker in held_out:
        test = speakers == speaker
        found[test] = fit_with(states[~test], labels[~test], c, copies, speaker).log_proba(states[test])
    return found


def choose_weight(scores: np.ndarray, head_log_proba: np.ndarray, labels: np.ndarray, weights: list[float]) -> float:
    """The weight of `weights` whose combination is right most often; ties go to the smaller weight (the zero-shot
    scores trusted more)."""
    right = [np.mean(combine(scores, head_log_proba, w).argmax(axis=1) == labels) for w in weights]
    return sorted(weights)[int(np.argmax([right[weights.index(w)] for w in sorted(weights)]))]


def save(dest: Path, head: Head, meta: dict) -> None:
    """Write the head's arrays and `meta` (the Whisper params, the weight, ...) into the folder `dest`."""
    with replacing_dir(dest) as partial:
        np.savez(partial / HEAD_FILE, mean=head.mean, scale=head.scale, coef=head.coef, intercept=head.intercept)
        (partial / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def read_head(folder: Path, stage: str) -> tuple[Head, dict]:
    """(the `Head` and `meta`) that `save` wrote into `folder`; a one-line DigitsError naming `stage` to rerun."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
        with np.load(folder / HEAD_FILE) as arrays:
            return Head(**{k: arrays[k] for k in ("mean", "scale", "coef", "intercept")}), meta
    except (OSError, ValueError, KeyError) as err:
        raise DigitsError(f"cannot load {folder}/ ({err}): run `dvc repro {stage}`") from None


def open_whisper(models: Path, threads: int = 0, fusion: Fusion | None = None) -> WhisperModel:
    """The Whisper recogniser of the pipeline's model folder `models` (`whisper/head`, `whisper/tiny.en`), with
    its `fusion` (see `runtime.open_fusion`)."""
    return WhisperModel(models / "whisper" / "head", models / "whisper" / "tiny.en", threads, fusion)


def open_whisper_detector(models: Path) -> WhisperDetector | None:
    """The Whisper recogniser's "no digit heard" in the pipeline's model folder `models` (`whisper/detector`), or
    None when there is none."""
    folder = models / "whisper" / "detector"
    return WhisperDetector(folder) if folder.is_dir() else None


def detector_input(states: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The Whisper detector's inputs `(n, 768 + 10 + 10)`: pooled states, zero-shot scores, and the scores
    normalised over the digits (which digit, apart from whether a digit at all)."""
    return np.concatenate([states, scores, log_softmax(scores)], axis=1).astype(np.float32)


@dataclass(frozen=True)
class Reading:
    """What `WhisperModel.read` makes of clips: Whisper's pooled `states` and zero-shot `scores`, Whisper's own
    log-probabilities (`whisper`: head and zero-shot scores) and the shipped ones (`log_proba`: fused with the MFCC
    model's where the recogniser has a `Fusion`)."""

    states: np.ndarray
    scores: np.ndarray
    whisper: np.ndarray
    log_proba: np.ndarray


class WhisperModel:
    """The shipped Whisper recogniser: Whisper tiny.en's features, the head, their combination, and (with a
    `fusion`) the MFCC model's log-probabilities added with its weight."""

    runtime = "whisper"

    def __init__(self, model_dir: Path, whisper_dir: Path, threads: int = 0, fusion: Fusion | None = None) -> None:
        self.head, self.meta = read_head(model_dir, "whisper_train")
        self.whisper = Whisper(whisper_dir, WhisperParams(**self.meta["whisper_params"]), threads)
        self.fusion = fusion

    def features(self, clips: list[np.ndarray], sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        """(pooled states, zero-shot scores) of mono clips at `sample_rate`: one pass of Whisper."""
        return self.whisper.features(clips, sample_rate)

    def from_features(self, states: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """`(n, 10)` Whisper's log-probabilities of each digit (no fusion), from a clip's `features`."""
        return combine(scores, self.head.log_proba(states), self.meta["weight"])

    def read(self, clips: list[np.ndarray], sample_rate: int) -> Reading:
        """The `Reading` of mono clips at `sample_rate`: one pass of Whisper (and of the MFCC model when fused)."""
        states, scores = self.features(clips, sample_rate)
        whisper = self.from_features(states, scores)
        if self.fusion is None:
            return Reading(states, scores, whisper, whisper)
        return Reading(
            states, scores, whisper, fuse(whisper, self.fusion.log_proba(clips, sample_rate), self.fusion.weight)
        )

    def log_proba(self, clips: list[np.ndarray], sample_rate: int) -> np.ndarray:
        """`(n, 10)` the shipped log-probabilities of each digit for mono clips at `sample_rate`."""
        return self.read(clips, sample_rate).log_proba


class WhisperDetector:
    """The Whisper recogniser's "no digit heard" (stage `whisper_detector`): class probabilities from the same
    features the recogniser reads; its labels and thresholds in `meta`."""

    runtime = "whisper"

    def __init__(self, folder: Path) -> None:
        self.head, self.meta = read_head(folder, "whisper_detector")

    def probabilities(self, states: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """`(n, classes)` class probabilities of clips' pooled `states` and zero-shot `scores`."""
        return np.exp(self.head.log_proba(detector_input(states, scores)))


def accuracy_by(column: pd.Series, log_proba: np.ndarray, labels: np.ndarray, among: list[str]) -> dict[str, float]:
    """Accuracy of the clips of each value of `among` in `column` (a speaker, a corpus)."""
    return {
        value: accuracy(log_proba[(column == value).to_numpy()], labels[(column == value).to_numpy()])
        for value in among
    }


def head_rows(keys: pd.DataFrame, training_only_corpora: bool) -> np.ndarray:
    """Which clips the head may train on: all, or (without `training_only_corpora`) those of the scored corpora."""
    return np.ones(len(keys), bool) if training_only_corpora else ~keys["training_only"].to_numpy(bool)


def accuracy(log_proba: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose most probable digit is the label, rounded to 6 decimals."""
    return round(float(np.mean(np.asarray(log_proba).argmax(axis=1) == labels)), 6)


def crossval(
    keys: pd.DataFrame, states: np.ndarray, scores: np.ndarray, held_out: list[str], c: float, weights: list[float],
    copies: Copies | None = None, weigh_on: list[str] | None = None,
) -> dict:  # fmt: skip
    """Leave-one-speaker-out scores of the zero-shot scores, the head alone and their combination.

    Each held-out speaker's head is trained on every other clip of `keys` (the feature table's keys:
    `speaker`, `label`); its combination weight is chosen on the out-of-fold scores of the other speakers of
    `weigh_on` (default: the held-out ones), never its own: a speaker held out alone gets a weight too.
    """
    labels, speakers = keys["label"].to_numpy(), keys["speaker"].to_numpy()
    pool = sorted({*held_out, *(weigh_on or held_out)})
    scored = np.isin(speakers, pool)
    oof = out_of_fold(states, labels, speakers, pool, c, copies)
    folds = {}
    for speaker in held_out:
        own, others = speakers == speaker, scored & (speakers != speaker)
        weight = choose_weight(scores[others], oof[others], labels[others], weights)
        folds[speaker] = {
            "clips": int(own.sum()),
            "accuracy": accuracy(combine(scores[own], oof[own], weight), labels[own]),
            "zero_shot": accuracy(scores[own], labels[own]),
            "head": accuracy(oof[own], labels[own]),
            "weight": weight,
        }
    by_weight = {str(w): accuracy(combine(scores[scored], oof[scored], w), labels[scored]) for w in weights}
    pooled_choice = choose_weight(scores[scored], oof[scored], labels[scored], weights)
    mean = {k: round(float(np.mean([f[k] for f in folds.values()])), 6) for k in ("accuracy", "zero_shot", "head")}
    return {
        "mean_accuracy": mean["accuracy"],
        "std_accuracy": round(float(np.std([f["accuracy"] for f in folds.values()])), 6),
        "mean_zero_shot": mean["zero_shot"],
        "mean_head": mean["head"],
        "folds": folds,
        "pooled_accuracy_by_weight": by_weight,
        "weight": pooled_choice,
    }


def cross_corpus(
    keys: pd.DataFrame, states: np.ndarray, scores: np.ndarray, c: float, weight: float, copies: Copies | None = None
) -> dict:
    """Heads trained on one side alone (the real corpora with their noisy `copies`, or the training-only ones)
    scored on every clip of the other side: the zero-shot scores, the head alone, and the combination with
    `weight`."""
    labels, training_only = keys["label"].to_numpy(), keys["training_only"].to_numpy(bool)
    found = {}
    for name, train in (("real_to_training_only", ~training_only), ("training_only_to_real", training_only)):
        if not train.any() or train.all():
            continue
        own_copies = copies if name == "real_to_training_only" else None
        head = fit_with(states[train], labels[train], c, own_copies, None).log_proba(states[~train])
        found[name] = {
            "clips": int((~train).sum()),
            "accuracy": accuracy(combine(scores[~train], head, weight), labels[~train]),
            "zero_shot": accuracy(scores[~train], labels[~train]),
            "head": accuracy(head, labels[~train]),
        }
    return found
