"""Leave-one-speaker-out folds trained side by side: one process per core, TensorFlow on one thread in each.

This small network trains no faster on two threads than on one (about 5,000 examples/s either way on
the 2-core machine), so two one-thread folds at once nearly halve `crossval`'s time. One thread also
makes each fold's model the same bits whatever the machine's core count or the number of workers.
"""

import functools
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from digits.features import FeatureParams, extract_views, select_input
from digits.fusion import CLEAN, fold_table, mfcc_log_proba
from digits.noisy import voice_in_noise
from digits.params import ModelParams, StringParams, TrainParams, VoiceNoiseParams
from digits.recognise import recognise
from digits.runtime import KerasModel
from digits.scoring import fold_scores, top_confusions
from digits.segment import PauseParams
from digits.strings import strings_of
from digits.training import fit, input_name, load_inputs, one_thread, threads, training_set


@dataclass
class Fold:
    """What a fold gives: its scores, its predictions `(path, actual, predicted)`, its out-of-fold log-probabilities
    (`fusion.fold_table`s: clean, and in noise), its model's parameter count, its training seconds and the threads
    TensorFlow ran on."""

    scores: dict
    predictions: pd.DataFrame
    log_proba: pd.DataFrame
    parameters: int
    seconds: float
    threads: int


@functools.cache
def inputs(kind: str, features: Path, augmented: Path) -> tuple:
    """`load_inputs(kind, features, augmented, views=True)`, read once per process."""
    return load_inputs(kind, features, augmented, views=True)


def train_fold(
    kind: str,
    features: Path,
    augmented: Path,
    frontend: Path | None,
    model_params: ModelParams,
    train_params: TrainParams,
    strings: tuple[StringParams, PauseParams] | None,
    noise: VoiceNoiseParams | None,
    train: np.ndarray,
    test: np.ndarray,
) -> Fold:
    """Train on the clips at boolean `train` (and their copies), score those at `test` over their test-time
    views and, when they are one speaker's: with `strings`, digit strings of those clips as `digits predict
    --sequence` reads them; with `noise`, `noisy.voice_in_noise` of that speaker (a pretrained front end's model
    taken from the folder `frontend`)."""
    keys, views, copies, feature_params = inputs(kind, features, augmented)
    labels = keys["label"].to_numpy()
    x_train, y_train = training_set(keys, views[:, 0], train, copies)
    started = time.perf_counter()
    front_end = FeatureParams.from_dict(feature_params)
    model, _ = fit(model_params, train_params, x_train, y_train, spec_augment=front_end.front_end.SPEC_AUGMENT)
    seconds = round(time.perf_counter() - started, 1)
    combined, per_view = recognise(KerasModel(model, {}), views[test])
    predicted = combined.argmax(axis=1)
    scores = {
        **fold_scores(labels[test], combined, per_view),
        "train_examples": len(x_train),
        "top_confusions": top_confusions(labels[test], predicted),
    }
    name = input_name(kind, front_end.matrix)

    def read(parts: list[np.ndarray], rate: int = front_end.sample_rate) -> np.ndarray:
        views = select_input(name, *extract_views([(y, rate) for y in parts], front_end, frontend))
        return recognise(KerasModel(model, {}), views)[0]

    one_voice = keys["speaker"][test].nunique() == 1
    if strings is not None and strings[0].count and one_voice:
        scores["strings"] = strings_of(read, keys[test], front_end.sample_rate, *strings)
    log_proba = [fold_table(keys[test], CLEAN, mfcc_log_proba(combined))]
    if noise is not None and one_voice:
        chosen, rate, mixes = voice_in_noise(keys, keys["speaker"][test].iloc[0], noise)
        log_proba += [fold_table(chosen, kind, mfcc_log_proba(read(audio, rate))) for kind, audio in mixes.items()]
    predictions = pd.DataFrame({"path": keys["path"][test], "actual": labels[test], "predicted": predicted})
    return Fold(scores, predictions, pd.concat(log_proba, ignore_index=True), model.count_params(), seconds, threads())


def train_folds(
    folds: dict[str, tuple[np.ndarray, np.ndarray]],
    kind: str,
    features: Path,
    augmented: Path,
    frontend: Path | None,
    model_params: ModelParams,
    train_params: TrainParams,
    workers: int,
    strings: tuple[StringParams, PauseParams] | None = None,
    noise: VoiceNoiseParams | None = None,
) -> Iterator[tuple[str, Fold]]:
    """`train_fold` for each `name: (train, test)` of `folds` on `workers` new processes, each on one thread;
    yields `(name, result)` as folds finish. `strings`: the digit strings' params and `predict.sequence`'s pauses;
    `noise`: each held-out voice's noise (see `train_fold`)."""
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=one_thread) as pool:
        futures = {
            pool.submit(
                train_fold, kind, features, augmented, frontend, model_params, train_params, strings, noise, *masks
            ): name
            for name, masks in folds.items()
        }
        for done in as_completed(futures):
            yield futures[done], done.result()
