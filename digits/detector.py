""" "No digit heard": the detector's training, its threshold from voices it never heard, and its open-set scores.

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
from digits.negatives import KINDS, read_negatives
from digits.openset import DIGITS, choose_threshold, digit_score, error_rates, signal_classes, sounds_like
from digits.params import DetectorParams, ModelParams, SpecAugmentParams, StringParams, TrainParams
from digits.recognise import recognise
from digits.runtime import KerasModel
from digits.segment import PauseParams, split_at_pauses
from digits.strings import digit_strings
from digits.table import load_features
from digits.training import EpochLine, fit, one_thread, training_set

LABELS = [*DIGITS, *KINDS]  # the detector knows each digit: a word is told from the digits, not from "speech"
SPLITS = ("train", "val", "test")


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


def signals_of(p: DetectorParams) -> list[int]:
    """The detector's signal classes, refused at any threshold, or none (`detector.refuse_signals`)."""
    return signal_classes(LABELS) if p.refuse_signals else []


def voice_folds(keys: pd.DataFrame, count: int) -> list[list[str]]:
    """The voices each of `count` folds holds out: the real (scored) voices and, apart, those of training-only
    corpora, each dealt in turn in sorted order, so that every fold holds out both kinds where there are enough."""
    scored = keys["training_only"].astype(bool).to_numpy()
    real = sorted(keys["speaker"][~scored].unique())
    if len(real) < count:
        raise DigitsError(f"detector.folds is {count} but the scored corpora have {len(real)} speakers")
    synthetic = sorted(keys["speaker"][scored].unique())
    return [real[k::count] + synthetic[k::count] for k in range(count)]


@dataclass(frozen=True)
class Strings:
    """Digit strings of each held-out real voice (`crossval.strings`), split as `--sequence` splits them."""

    params: StringParams
    pauses: PauseParams


def string_parts(keys: pd.DataFrame, voice: str, strings: Strings, data: Inputs) -> np.ndarray:
    """The matrices of every view `(n, views, *shape)` of the parts `--sequence` finds in `strings.params` digit
    strings made of `voice`'s clips outside the test split (`keys`' rows), by the front end of `data`."""
    clips = keys[(keys["speaker"] == voice) & (keys["split"] != "test")]
    s, p = strings.params, data.front_end
    audio = read_clips(clips["path"], p.sample_rate)
    rng = np.random.default_rng(s.seed)
    built = digit_strings(audio, clips["label"].to_numpy(), p.sample_rate, s.count, s.length, s.pause, rng)
    parts = [y[a:b] for y, _ in built for a, b in split_at_pauses(y, p.sample_rate, strings.pauses)]
    return extract_views([(y, p.sample_rate) for y in parts], p, data.frontend)[0]


def fold_scores(
    p: DetectorParams, masks: SpecAugmentParams, paths: tuple[Path, ...], strings: Strings, held_out: list[str]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Train a detector without the voices `held_out`; (the digit scores of every clip of the corpora, NaN but
    for those voices' clips outside the test split, the digit scores of the val non-digits, those of the parts
    of each held-out real voice's digit strings)."""
    data = load_inputs(*paths)
    keys = data.keys
    voices = np.setdiff1d(keys["speaker"].unique(), held_out)
    model = train_detector(p, masks, data, voices)
    scored = (keys["speaker"].isin(held_out) & (keys["split"] != "test")).to_numpy()
    scores = np.full(len(keys), np.nan)
    signals = signals_of(p)
    scores[scored] = digit_score(recognise(model, data.views[scored])[0], signals)
    real = sorted(set(held_out) & set(keys["speaker"][~keys["training_only"].astype(bool)]))
    parts = {v: string_parts(keys, v, strings, data) for v in real} if strings.params.count else {}
    parts = {v: digit_score(recognise(model, x)[0], signals) for v, x in parts.items() if len(x)}
    return scores, digit_score(recognise(model, data.negatives["val"][0])[0], signals), parts


def accepted_by_kind(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """The share of each kind of non-digit (class `labels`) whose digit `scores` reach `threshold`."""
    kinds = np.array(LABELS)[labels]
    return {kind: round(float(np.mean(scores[kinds == kind] >= threshold)), 4) for kind in KINDS}


def new_voice_report(
    keys: pd.DataFrame,
    scores: np.ndarray,
    val_others: list[np.ndarray],
    parts: dict[str, np.ndarray],
    threshold: float,
    sequence_threshold: float,
) -> dict:
    """What the held-out detectors do at `threshold` (out-of-fold digit `scores` of the corpus clips, NaN where
    none, each fold's val non-digit scores, and the scores of the parts of each real voice's digit strings):
    each real voice's digits refused, their mean, the synthetic voices' digits refused, the val non-digits
    accepted (mean over folds), and the parts of digit strings refused at `sequence_threshold` (each voice's,
    their mean) and at `threshold`."""
    scored, synthetic = ~np.isnan(scores), keys["training_only"].astype(bool).to_numpy()
    refused = pd.Series(scores < threshold)[scored & ~synthetic].groupby(keys["speaker"][scored & ~synthetic])
    per_voice = {voice: round(float(share), 4) for voice, share in refused.mean().items()}
    return {
        "refused_by_voice": per_voice,
        "mean_refused": round(float(np.mean(list(per_voice.values()))), 4),
        "clips": int((scored & ~synthetic).sum()),
        "refused": int((scores[scored & ~synthetic] < threshold).sum()),
        "synthetic_refused": round(float(np.mean(scores[scored & synthetic] < threshold)), 4)
        if (scored & synthetic).any()
        else None,
        "val_false_accept_rate": round(float(np.mean([np.mean(v >= threshold) for v in val_others])), 4),
        **(
            {
                "string_parts_refused_by_voice": {
                    v: round(float(np.mean(x < sequence_threshold)), 4) for v, x in sorted(parts.items())
                },
                "string_parts_refused": round(
                    float(np.mean([np.mean(x < sequence_threshold) for x in parts.values()])), 4
                ),
                "string_parts_refused_at_the_clip_threshold": round(
                    float(np.mean([np.mean(x < threshold) for x in parts.values()])), 4
                ),
            }
            if parts
            else {}
        ),
    }


def open_set_report(
    model: KerasModel, data: Inputs, threshold: float, sequence_threshold: float, signals: list[int]
) -> tuple[dict, np.ndarray]:
    """(the val and open-set test error rates of `model` at `threshold`, by kind, how often a refusal names the
    right kind, and the test's non-digits accepted at `sequence_threshold`; the class probabilities of every
    corpus clip). `signals`: see `digit_score`."""
    everything = recognise(model, data.views)[0]
    split = data.keys["split"].to_numpy()
    report = {}
    for name in ("val", "test"):
        views, labels = data.negatives[name]
        others = recognise(model, views)[0]
        report[name] = error_rates(
            digit_score(everything[split == name], signals), digit_score(others, signals), threshold
        )
        report[f"{name}_false_accept_rate_by_kind"] = accepted_by_kind(digit_score(others, signals), labels, threshold)
        if name == "test":
            refused = digit_score(others, signals) < threshold
            named = refused & (np.array(sounds_like(others, LABELS)) == np.array(LABELS)[labels])
            report["test_refusals_naming_the_right_kind"] = round(float(named.sum() / max(refused.sum(), 1)), 4)
            at_sequence = digit_score(others, signals) >= sequence_threshold
            report["test_sequence_false_accept_rate"] = round(float(np.mean(at_sequence)), 4)
            report["test_sequence_false_accept_rate_by_kind"] = accepted_by_kind(
                digit_score(others, signals), labels, sequence_threshold
            )
    return report, everything


def refused_clips(
    keys: pd.DataFrame, probabilities: np.ndarray, threshold: float, signals: list[int]
) -> tuple[pd.DataFrame, dict]:
    """(the corpus clips refused at `threshold`, with their digit score (`signals`: see `digit_score`) and what
    they sound like; counts per corpus and split, `"fsdd/test": "6 of 600"`)."""
    refused = digit_score(probabilities, signals) < threshold
    table = keys.loc[refused, ["path", "corpus", "split", "label"]].assign(
        digit_score=np.round(digit_score(probabilities[refused], signals), 4),
        sounds_like=sounds_like(probabilities[refused], LABELS),
    )
    counts = keys.assign(refused=refused).groupby(["corpus", "split"])["refused"].agg(["sum", "size"])
    return table, {f"{c}/{s}": f"{int(r['sum'])} of {int(r['size'])}" for (c, s), r in counts.iterrows()}


def choose_on_new_voices(keys: pd.DataFrame, scores: np.ndarray, max_false_refusals: float) -> float:
    """The highest threshold that refuses at most `max_false_refusals` of the real voices' out-of-fold digit
    `scores` (NaN: not scored out of fold; synthetic voices left out)."""
    real = ~np.isnan(scores) & ~keys["training_only"].astype(bool).to_numpy()
    return choose_threshold(scores[real], max_false_refusals)


def build_detector(
    p: DetectorParams, masks: SpecAugmentParams, paths: tuple[Path, ...], strings: Strings, workers: int
) -> tuple[KerasModel, dict, pd.DataFrame]:
    """Train the shipped detector on every voice and, meanwhile, one per fold of `voice_folds` on `workers` new
    processes (one thread each), from `paths` (non-digits, features, augmented copies, pretrained front end);
    choose the threshold on the out-of-fold digits (`choose_on_new_voices`) and score the held-out voices'
    `strings` there. Returns the detector (its threshold in `meta`), its report (`metrics/openset.json`) and the
    corpus clips it refuses."""
    data = load_inputs(*paths)
    folds = voice_folds(data.keys, p.folds)
    print(f"detector: {p.folds} folds of held-out voices on {workers} processes, one thread each, beside this one")
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=one_thread) as pool:
        futures = [pool.submit(fold_scores, p, masks, paths, strings, fold) for fold in folds]
        model = train_detector(p, masks, data, verbose=True)
        results = [future.result() for future in futures]
    scores = np.full(len(data.keys), np.nan)
    for held_out, _, _ in results:
        scores = np.where(np.isnan(held_out), scores, held_out)
    threshold = choose_on_new_voices(data.keys, scores, p.max_false_refusals)
    parts = {voice: x for _, _, fold in results for voice, x in fold.items()}
    sequence_threshold = (
        choose_threshold(np.concatenate(list(parts.values())), p.max_false_refusals) if parts else threshold
    )
    report = {
        "threshold": round(threshold, 6),
        "sequence_threshold": round(sequence_threshold, 6),
        "chosen_on": "digits of voices the detector never heard (out of fold, outside the test split), and the parts "
        "--sequence finds in their digit strings: at most detector.max_false_refusals of each refused",
        "new_voices": {
            "folds": len(folds),
            **new_voice_report(data.keys, scores, [v for _, v, _ in results], parts, threshold, sequence_threshold),
        },
    }
    open_set, probabilities = open_set_report(model, data, threshold, sequence_threshold, signals_of(p))
    table, counts = refused_clips(data.keys, probabilities, threshold, signals_of(p))
    model.meta.update(labels=LABELS, threshold=threshold, sequence_threshold=sequence_threshold, signals=signals_of(p))
    return model, {**report, **open_set, "corpus_clips_refused": counts}, table
