""" "No digit heard", whatever the detector reads: its voice folds, a threshold from voices it never heard, reports.

A detector (MFCC's CNN in `digits.detector`, Whisper's logistic regression in `digits.whisper_detector`) gives
each clip a probability of each class of `LABELS`. The speakers are dealt into folds (`voice_folds`); a detector
trained without a fold's voices scores their clips outside the test split, and the highest threshold that refuses
at most `max_false_refusals` of the real voices' out-of-fold digits (`choose_on_new_voices`) is the shipped
detector's. Parts of digit strings (`--sequence`) get a threshold of their own. The reports read the held-out
folds, the val split and the open-set test at those thresholds.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from digits import DigitsError, replacing_file, write_json
from digits.audio import read_clips
from digits.negatives import KINDS
from digits.openset import DIGITS, digit_score, error_rates, signal_classes, sounds_like
from digits.params import StringParams
from digits.segment import PauseParams, split_at_pauses
from digits.strings import digit_strings

LABELS = [*DIGITS, *KINDS]  # the detector knows each digit: a word is told from the digits, not from "speech"
CHOSEN_ON = (
    "digits of voices the detector never heard (out of fold, outside the test split), and the parts --sequence "
    "finds in their digit strings: at most max_false_refusals of each refused, on average over the voices"
)


def signals_of(refuse_signals: bool) -> list[int]:
    """The detector's signal classes, refused at any threshold, or none."""
    return signal_classes(LABELS) if refuse_signals else []


def voice_folds(keys: pd.DataFrame, count: int, param: str = "detector.folds") -> list[list[str]]:
    """The voices each of `count` folds (the value of `param`) holds out: the real (scored) voices and, apart,
    those of training-only corpora, each dealt in turn in sorted order, so that every fold holds out both kinds
    where there are enough."""
    scored = keys["training_only"].astype(bool).to_numpy()
    real = sorted(keys["speaker"][~scored].unique())
    if len(real) < count:
        raise DigitsError(f"{param} is {count} but the scored corpora have {len(real)} speakers")
    synthetic = sorted(keys["speaker"][scored].unique())
    return [real[k::count] + synthetic[k::count] for k in range(count)]


@dataclass(frozen=True)
class Strings:
    """Digit strings of each held-out real voice (`crossval.strings`), split as `--sequence` splits them."""

    params: StringParams
    pauses: PauseParams


def string_parts(keys: pd.DataFrame, voice: str, strings: Strings, sample_rate: int) -> list[np.ndarray]:
    """The parts (mono audio at `sample_rate`) `--sequence` finds in `strings.params` digit strings made of
    `voice`'s clips outside the test split (`keys`' rows)."""
    clips = keys[(keys["speaker"] == voice) & (keys["split"] != "test")]
    s = strings.params
    audio = read_clips(clips["path"], sample_rate)
    rng = np.random.default_rng(s.seed)
    built = digit_strings(audio, clips["label"].to_numpy(), sample_rate, s.count, s.length, s.pause, rng)
    return [y[a:b] for y, _ in built for a, b in split_at_pauses(y, sample_rate, strings.pauses)]


def held_out_scores(
    keys: pd.DataFrame, held_out: list[str], classify: Callable[[np.ndarray], np.ndarray], signals: list[int],
) -> np.ndarray:  # fmt: skip
    """Digit scores of every clip of `keys`: NaN but for the `held_out` voices' clips outside the test split,
    scored by `classify` (the rows' indices -> class probabilities)."""
    scored = (keys["speaker"].isin(held_out) & (keys["split"] != "test")).to_numpy()
    scores = np.full(len(keys), np.nan)
    scores[scored] = digit_score(classify(np.flatnonzero(scored)), signals)
    return scores


def real_voices(keys: pd.DataFrame, voices: list[str]) -> list[str]:
    """Those of `voices` that are real (scored) voices, sorted."""
    return sorted(set(voices) & set(keys["speaker"][~keys["training_only"].astype(bool)]))


def accepted_by_kind(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """The share of each kind of non-digit (class `labels`) whose digit `scores` reach `threshold`; a kind with no
    clips is left out (its share would be NaN, which is not JSON)."""
    kinds = np.array(LABELS)[labels]
    return {
        kind: round(float(np.mean(scores[kinds == kind] >= threshold)), 4) for kind in KINDS if (kinds == kind).any()
    }


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
    everything: np.ndarray, split: np.ndarray, others: dict[str, tuple[np.ndarray, np.ndarray]], threshold: float,
    sequence_threshold: float, signals: list[int],
) -> dict:  # fmt: skip
    """The val and open-set test error rates at `threshold`, by kind, how often a refusal names the right kind,
    and the test's non-digits accepted at `sequence_threshold`, from the shipped detector's class probabilities of
    every corpus clip (`everything`, their `split`) and of the non-digits of val and test (`others`: split ->
    (class probabilities, class labels)). `signals`: see `digit_score`."""
    report = {}
    for name in ("val", "test"):
        probabilities, labels = others[name]
        found = digit_score(probabilities, signals)
        report[name] = error_rates(digit_score(everything[split == name], signals), found, threshold)
        report[f"{name}_false_accept_rate_by_kind"] = accepted_by_kind(found, labels, threshold)
        if name == "test":
            refused = found < threshold
            named = refused & (np.array(sounds_like(probabilities, LABELS)) == np.array(LABELS)[labels])
            report["test_refusals_naming_the_right_kind"] = round(float(named.sum() / max(refused.sum(), 1)), 4)
            report["test_sequence_false_accept_rate"] = round(float(np.mean(found >= sequence_threshold)), 4)
            report["test_sequence_false_accept_rate_by_kind"] = accepted_by_kind(found, labels, sequence_threshold)
    return report


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


def choose_by_voice(scores: np.ndarray, voices: np.ndarray, max_false_refusals: float) -> float:
    """The highest threshold under which lie at most `max_false_refusals` of a voice's digit `scores`, on average
    over the `voices` (each clip weighs 1 / (its voice's clips x voices)): the mean of the voices' refusals is what
    is bounded, not the pooled clips'."""
    names, index, counts = np.unique(voices, return_inverse=True, return_counts=True)
    order = np.argsort(scores, kind="stable")
    ranked = np.asarray(scores)[order]
    share = np.cumsum((1.0 / (counts[index] * len(names)))[order])
    allowed = int(np.searchsorted(share, max_false_refusals + 1e-12, side="right"))  # refusing ranked[:allowed]
    return float(ranked[min(allowed, len(ranked) - 1)]) if len(ranked) else 0.0


def choose_on_new_voices(keys: pd.DataFrame, scores: np.ndarray, max_false_refusals: float) -> float:
    """`choose_by_voice` on the real voices' out-of-fold digit `scores` (NaN: not scored out of fold; synthetic
    voices left out)."""
    real = ~np.isnan(scores) & ~keys["training_only"].astype(bool).to_numpy()
    return choose_by_voice(scores[real], keys["speaker"][real].to_numpy(), max_false_refusals)


FoldScores = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]  # held-out clips, val non-digits, string parts


@dataclass(frozen=True)
class Assessment:
    """A detector's report (`metrics/.../openset.json`), the corpus clips it refuses, the out-of-fold digit scores
    of the real voices' clips outside the test split (`path`, `speaker`, `label`, `digit_score`: each scored by
    the fold's detector that never heard the voice) and its two thresholds unrounded (clips, parts of digit
    strings)."""

    report: dict
    refused: pd.DataFrame
    held_out: pd.DataFrame
    thresholds: tuple[float, float]


def assess(
    keys: pd.DataFrame, folds: list[FoldScores], max_false_refusals: float, everything: np.ndarray,
    others: dict[str, tuple[np.ndarray, np.ndarray]], signals: list[int],
) -> Assessment:  # fmt: skip
    """The detector's `Assessment`: its `threshold` and `sequence_threshold` chosen on the out-of-fold scores of
    `folds` (each fold's digit scores of its held-out voices' clips, NaN elsewhere, of the val non-digits and of
    each held-out real voice's string parts); its report from those and from the shipped detector's class
    probabilities of every corpus clip (`everything`) and of `others` (see `open_set_report`)."""
    scores = np.full(len(keys), np.nan)
    for held_out, _, _ in folds:
        scores = np.where(np.isnan(held_out), scores, held_out)
    threshold = choose_on_new_voices(keys, scores, max_false_refusals)
    parts = {voice: x for _, _, fold in folds for voice, x in fold.items()}
    every_part = np.concatenate(list(parts.values())) if parts else None
    part_voices = np.concatenate([[voice] * len(x) for voice, x in parts.items()]) if parts else None
    sequence_threshold = (
        threshold if every_part is None else choose_by_voice(every_part, part_voices, max_false_refusals)
    )
    new_voices = new_voice_report(keys, scores, [v for _, v, _ in folds], parts, threshold, sequence_threshold)
    open_set = open_set_report(everything, keys["split"].to_numpy(), others, threshold, sequence_threshold, signals)
    table, counts = refused_clips(keys, everything, threshold, signals)
    report = {
        "threshold": round(threshold, 6),
        "sequence_threshold": round(sequence_threshold, 6),
        "chosen_on": CHOSEN_ON,
        "new_voices": {"folds": len(folds), **new_voices},
        **open_set,
        "corpus_clips_refused": counts,
    }
    real = ~np.isnan(scores) & ~keys["training_only"].astype(bool).to_numpy()
    held_out = keys.loc[real, ["path", "speaker", "label"]].assign(digit_score=scores[real].astype(np.float32))
    return Assessment(report, table, held_out.reset_index(drop=True), (threshold, sequence_threshold))


def write_report(found: Assessment, openset_json: Path, refused_csv: Path, held_out_parquet: Path) -> str:
    """Write a detector's `Assessment`: its report to `openset_json`, the corpus clips it refuses to `refused_csv`,
    the out-of-fold digit scores to `held_out_parquet`; return a line on what it does."""
    report, refused = found.report, found.refused
    write_json(openset_json, report)
    with replacing_file(refused_csv) as tmp:
        refused.to_csv(tmp, index=False)
    with replacing_file(held_out_parquet) as tmp:
        found.held_out.to_parquet(tmp, index=False)
    new, test = report["new_voices"], report["test"]
    return (
        f"threshold {report['threshold']:.4f}: new voices' digits refused {new['mean_refused']:.2%} (mean of "
        f"{len(new['refused_by_voice'])} voices, out of fold), their val non-digits accepted "
        f"{new['val_false_accept_rate']:.2%}; parts of their digit strings refused: "
        f"{new.get('string_parts_refused')} at {report['sequence_threshold']:.4f}; open-set test: "
        f"{test['false_refusals']} of {test['digits']} digits refused ({test['false_refusal_rate']:.2%}), "
        f"{test['false_accepts']} of {test['non_digits']} non-digits accepted ({test['false_accept_rate']:.2%}); "
        f"{len(refused)} corpus clips refused -> {refused_csv}"
    )
