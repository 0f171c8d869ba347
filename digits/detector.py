""" "No digit heard" for the MFCC recogniser: the detector's training and its out-of-fold scores.

A small CNN on MFCC matrices tells each digit from each kind of non-digit (`LABELS`). It trains on the
train split's clips and their augmented copies (every corpus) against the training non-digits. Its threshold
comes from digits of voices it never heard: the speakers are dealt into `detector.folds` folds, a detector is
trained without each fold's voices, and those voices' clips outside the test split are scored by it. The
highest threshold that refuses at most `max_false_refusals` of the real voices' out-of-fold digits is the
one the shipped detector (trained on every voice) uses. The val split (digits of seen voices, non-digits
of unheard words and voices) and the open-set test (the test split against other non-digits) are scored
at that threshold, as are every clip of every corpus.
"""

import functools
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from digits import DigitsError
from digits.audio import read_clips
from digits.features import FeatureParams, extract_views
from digits.models import input_name
from digits.negatives import SPLITS, read_negatives
from digits.openset import digit_score
from digits.params import DetectorParams, ModelParams, SpecAugmentParams, TrainParams
from digits.recognise import recognise
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
from digits.runtime import KerasModel
from digits.table import load_features
from digits.training import EpochLine, fit, one_thread, training_set


@dataclass(frozen=True)
class Inputs:
    """What the detector learns from and is scored on: every corpus clip's keys and matrices of each view
    `(n, views, *shape)`, the augmented copies' keys and matrices, the non-digits of each split (matrices of each
    view, class labels), the front end's params and the folder of its pretrained model."""

    keys: pd.DataFrame
    views: np.ndarray
    copy_keys: pd.DataFrame
    copies: np.ndarray
    negatives: dict[str, tuple[np.ndarray, np.ndarray]]
    front_end: FeatureParams
    frontend: Path | None


def negative_views(root: Path, split: str, p: FeatureParams, frontend: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(matrices of every view `(n, views, *matrix_shape)`, class labels) of the non-digits of `split` (a
    pretrained front end's model taken from the folder `frontend`)."""
    clips = read_negatives(root, split)
    audio = read_clips([str(path) for path, _ in clips], p.sample_rate)
    matrices, _ = extract_views([(y, p.sample_rate) for y in audio], p, frontend)
    return matrices, np.array([LABELS.index(kind) for _, kind in clips])


@functools.cache
def load_inputs(negatives: Path, features: Path, augmented: Path, frontend: Path | None) -> Inputs:
    """The detector's `Inputs` from the feature tables and the non-digit clips, read once per process."""
    keys, views, _, front_end = load_features(features, views=True)
    split = keys["split"].to_numpy()
    if not (split == "val").any() or not (split == "test").any():
        raise DigitsError("the detector needs clips in the val and test splits (see ingest.val_size, test_size)")
    copy_keys, copies, _, _ = load_features(augmented)
    others = {name: negative_views(negatives, name, front_end, frontend) for name in SPLITS}
    return Inputs(keys, views, copy_keys, copies, others, front_end, frontend)


def train_detector(
    p: DetectorParams, masks: SpecAugmentParams, data: Inputs, voices: np.ndarray | None = None, verbose: bool = False
) -> KerasModel:
    """Train the detector on the train split's clips of `voices` (every voice when None) and their copies (none
    babbled by another voice), against the training non-digits."""
    keys = data.keys
    rows = (keys["split"] == "train").to_numpy()
    if voices is not None:
        rows = rows & keys["speaker"].isin(voices).to_numpy()
    copy_rows = (data.copy_keys["split"] == "train").to_numpy()
    copies = data.copy_keys[copy_rows].reset_index(drop=True), data.copies[copy_rows]
    digits_x, digits_y = training_set(keys, data.views[:, 0], rows, copies)
    others_x, others_y = data.negatives["train"]
    x, y = np.concatenate([digits_x, others_x[:, 0]]), np.concatenate([digits_y, others_y])
    if verbose:
        print(f"detector: {len(digits_x)} digits (clips and copies) against {len(others_x)} non-digits")
    schedule = TrainParams(
        epochs=p.epochs, batch_size=p.batch_size, learning_rate=p.learning_rate, spec_augment=masks, seed=p.seed
    )
    model_params = ModelParams.model_construct(kind="cnn", cnn=p.cnn)  # the detector is always a CNN
    callbacks = [EpochLine()] if verbose else []
    net, _ = fit(
        model_params,
        schedule,
        x,
        y,
        callbacks=callbacks,
        classes=len(LABELS),
        spec_augment=data.front_end.front_end.SPEC_AUGMENT,
    )
    name = input_name("cnn", data.front_end.matrix)
    return KerasModel(net, {"kind": "detector", "input": name, "feature_params": data.front_end.to_dict()})


def string_views(keys: pd.DataFrame, voice: str, strings: Strings, data: Inputs) -> np.ndarray:
    """The matrices of every view `(n, views, *shape)` of the parts `--sequence` finds in `voice`'s digit strings
    (`refusal.string_parts`), by the front end of `data`."""
    p = data.front_end
    parts = string_parts(keys, voice, strings, p.sample_rate)
    return extract_views([(y, p.sample_rate) for y in parts], p, data.frontend)[0]


def fold_scores(
    p: DetectorParams, masks: SpecAugmentParams, paths: tuple[Path, ...], strings: Strings, held_out: list[str]
) -> FoldScores:
    """Train a detector without the voices `held_out`; (the digit scores of every clip of the corpora, NaN but
    for those voices' clips outside the test split, the digit scores of the val non-digits, those of the parts
    of each held-out real voice's digit strings)."""
    data = load_inputs(*paths)
    keys = data.keys
    model = train_detector(p, masks, data, np.setdiff1d(keys["speaker"].unique(), held_out))
    signals = signals_of(p.refuse_signals)
    scores = held_out_scores(keys, held_out, lambda rows: recognise(model, data.views[rows])[0], signals)
    voices = real_voices(keys, held_out) if strings.params.count else []
    parts = {v: string_views(keys, v, strings, data) for v in voices}
    parts = {v: digit_score(recognise(model, x)[0], signals) for v, x in parts.items() if len(x)}
    return scores, digit_score(recognise(model, data.negatives["val"][0])[0], signals), parts


def build_detector(
    p: DetectorParams, masks: SpecAugmentParams, paths: tuple[Path, ...], strings: Strings, workers: int
) -> tuple[KerasModel, Assessment]:
    """Train the shipped detector on every voice and, meanwhile, one per fold of `voice_folds` on `workers` new
    processes (one thread each), from `paths` (non-digits, features, augmented copies, pretrained front end);
    choose the thresholds on the out-of-fold digits and score the held-out voices' `strings` there
    (`refusal.assess`). Returns the detector (its thresholds in `meta`) and its `Assessment`."""
    data = load_inputs(*paths)
    folds = voice_folds(data.keys, p.folds)
    print(f"detector: {p.folds} folds of held-out voices on {workers} processes, one thread each, beside this one")
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=one_thread) as pool:
        futures = [pool.submit(fold_scores, p, masks, paths, strings, fold) for fold in folds]
        model = train_detector(p, masks, data, verbose=True)
        results = [future.result() for future in futures]
    others = {name: (recognise(model, data.negatives[name][0])[0], data.negatives[name][1]) for name in ("val", "test")}
    signals = signals_of(p.refuse_signals)
    everything = recognise(model, data.views)[0]
    found = assess(data.keys, results, p.max_false_refusals, everything, others, signals)
    threshold, sequence_threshold = found.thresholds
    model.meta.update(labels=LABELS, threshold=threshold, sequence_threshold=sequence_threshold, signals=signals)
    return model, found
