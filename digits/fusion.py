"""The shipped recogniser: Whisper's log-probabilities plus a weight times the MFCC model's.

Noise costs the two front ends different clips: on voices neither model heard, MFCC loses less in white and
speech-shaped noise, Whisper far less when clean. Their weighted sum (`fuse`) is chosen on both crossval stages'
out-of-fold log-probabilities of the same clips, clean and in the same noise (`crossval.noise`): the weight best
in noise that costs clean voices at most `fusion.max_clean_loss` (`choose`), each held-out voice's chosen on the
other voices (`loso`), the shipped one on them all, never on the test split. Weight 0 is Whisper alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digits import DigitsError

if TYPE_CHECKING:  # pandas is imported where a table is built: `digits predict` needs `fuse` alone, 0.24 s sooner
    import pandas as pd

CLEAN = "clean"
LOG_PROBA = [f"l{digit}" for digit in range(10)]
KEYS = ["path", "speaker", "label", "condition"]


def fold_table(keys: pd.DataFrame, condition: str, log_proba: np.ndarray) -> pd.DataFrame:
    """Out-of-fold log-probabilities `(n, 10)` of clips (`keys`: `path`, `speaker`, `label`) in one `condition`
    (`clean` or a kind of noise), as a table: the `KEYS`, then `l0` .. `l9`."""
    import pandas as pd

    table = keys[["path", "speaker", "label"]].reset_index(drop=True).assign(condition=condition)
    return pd.concat([table, pd.DataFrame(np.asarray(log_proba, np.float32), columns=LOG_PROBA)], axis=1)


def fuse(whisper: np.ndarray, mfcc: np.ndarray, weight: float | np.ndarray) -> np.ndarray:
    """`(n, 10)` log-probabilities: Whisper's plus `weight` (one, or one a row `(n, 1)`) times the MFCC model's,
    renormalised."""
    summed = np.asarray(whisper, np.float64) + weight * np.asarray(mfcc, np.float64)
    return summed - np.logaddexp.reduce(summed, axis=1, keepdims=True)


def mfcc_log_proba(probabilities: np.ndarray) -> np.ndarray:
    """The MFCC model's class probabilities as log-probabilities, floored so a zero never rules a digit out."""
    return np.log(np.maximum(probabilities, 1e-7))


def joined(mfcc: pd.DataFrame, whisper: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(the keys, MFCC's and Whisper's log-probabilities) of the clips and conditions both `fold_table`s hold; a
    DigitsError when they share none."""
    both = mfcc.merge(whisper, on=KEYS, suffixes=("_mfcc", "_whisper"))
    if both.empty:
        raise DigitsError("the two crossval stages scored no clip in common: run `dvc repro crossval whisper_crossval`")
    return (
        both[KEYS],
        both[[f"{c}_mfcc" for c in LOG_PROBA]].to_numpy(),
        both[[f"{c}_whisper" for c in LOG_PROBA]].to_numpy(),
    )


def accuracy_by_condition(keys: pd.DataFrame, log_proba: np.ndarray) -> dict[str, float]:
    """{condition: share of its rows whose most probable digit is the label}."""
    import pandas as pd

    right = pd.Series(log_proba.argmax(axis=1) == keys["label"].to_numpy(), index=keys.index)
    return {str(c): round(float(v), 6) for c, v in right.groupby(keys["condition"]).mean().items()}


def accuracy_in_noise(table: pd.DataFrame) -> dict[str, float]:
    """{kind of noise: the mean over voices of their accuracy in it}, from a `fold_table` of several voices."""
    noisy = table[table["condition"] != CLEAN]
    by_voice = [accuracy_by_condition(rows, rows[LOG_PROBA].to_numpy()) for _, rows in noisy.groupby("speaker")]
    return {
        kind: round(float(np.mean([found[kind] for found in by_voice])), 6) for kind in sorted(set(noisy["condition"]))
    }


def choose(
    keys: pd.DataFrame, mfcc: np.ndarray, whisper: np.ndarray, weights: list[float], max_clean_loss: float
) -> float:
    """The weight of `weights` whose fusion has the best mean accuracy over the kinds of noise, among those whose
    clean accuracy is at most `max_clean_loss` below Whisper's alone (the best clean one when none is); ties go to
    the smaller weight (Whisper trusted more)."""
    ordered = sorted(weights)
    found = [accuracy_by_condition(keys, fuse(whisper, mfcc, w)) for w in ordered]
    clean = [f.get(CLEAN, 0.0) for f in found]
    floor = accuracy_by_condition(keys, whisper).get(CLEAN, 0.0) - max_clean_loss
    if max(clean) < floor:
        return ordered[int(np.argmax(clean))]
    noisy = [np.mean([v for c, v in f.items() if c != CLEAN] or [f.get(CLEAN, 0.0)]) for f in found]
    return ordered[int(np.argmax([n if c >= floor else -1.0 for n, c in zip(noisy, clean, strict=True)]))]


def loso(
    keys: pd.DataFrame, mfcc: np.ndarray, whisper: np.ndarray, weights: list[float], max_clean_loss: float
) -> dict:
    """Leave-one-speaker-out of the fusion: each speaker scored at the weight chosen on the other speakers (the
    smallest weight when there is none), beside MFCC and Whisper alone; the means over speakers by condition;
    the weight chosen on every speaker (the shipped one) and the pooled accuracies at each weight."""
    speakers = keys["speaker"].to_numpy()
    folds = {}
    for speaker in sorted(set(speakers)):
        own, others = speakers == speaker, speakers != speaker
        chosen_on = (keys[others], mfcc[others], whisper[others], weights, max_clean_loss)
        weight = choose(*chosen_on) if others.any() else min(weights)
        folds[speaker] = {
            "weight": weight,
            **{
                name: accuracy_by_condition(keys[own], found)
                for name, found in (
                    ("fused", fuse(whisper[own], mfcc[own], weight)),
                    ("whisper", whisper[own]),
                    ("mfcc", mfcc[own]),
                )
            },
        }
    conditions = sorted(set(keys["condition"]), key=lambda c: (c != CLEAN, c))
    mean = {
        name: {c: round(float(np.mean([f[name][c] for f in folds.values()])), 6) for c in conditions}
        for name in ("fused", "whisper", "mfcc")
    }
    by_weight = {str(w): accuracy_by_condition(keys, fuse(whisper, mfcc, w)) for w in weights}
    weight = choose(keys, mfcc, whisper, weights, max_clean_loss)
    return {"mean": mean, "weight": weight, "by_weight": by_weight, "folds": folds}


def fused_table(keys: pd.DataFrame, mfcc: np.ndarray, whisper: np.ndarray, weights: dict[str, float]) -> pd.DataFrame:
    """The `joined` rows (`keys`) fused out of fold, each at its voice's weight in `weights` (`loso`'s folds), as
    a table like `fold_table`'s: the `KEYS`, then `l0` .. `l9`."""
    import pandas as pd

    weight = keys["speaker"].map(weights).to_numpy(np.float64)[:, None]
    fused = pd.DataFrame(fuse(whisper, mfcc, weight).astype(np.float32), columns=LOG_PROBA)
    return pd.concat([keys[KEYS].reset_index(drop=True), fused], axis=1)


def read_fusion(path: Path) -> float:
    """The fusion weight stage `fusion` wrote to the JSON file `path`; a one-line DigitsError naming the stage to
    rerun."""
    try:
        return float(json.loads(path.read_text())["weight"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DigitsError(f"cannot read {path} ({err}): run `dvc repro fusion`") from None
