"""Scores of predicted digits: accuracy, precision/recall/F1, the most frequent confusions, per held-out speaker."""

from collections import Counter

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, f1_score

from digits import DigitsError

DIGITS = [str(d) for d in range(10)]


def scores(actual: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, macro and weighted averages and per-class precision/recall/F1/support."""
    report = classification_report(
        actual, predicted, labels=range(10), target_names=DIGITS, output_dict=True, zero_division=0
    )
    rename = {"f1-score": "f1"}

    def pick(row: dict) -> dict:
        return {rename.get(k, k): round(v, 6) if isinstance(v, float) else v for k, v in row.items()}

    return {
        "accuracy": round(float(np.mean(actual == predicted)), 6),
        "test_clips": len(actual),
        "macro": pick({k: v for k, v in report["macro avg"].items() if k != "support"}),
        "weighted": pick({k: v for k, v in report["weighted avg"].items() if k != "support"}),
        "per_class": {d: pick(report[d]) for d in DIGITS},
    }


def report_text(actual: np.ndarray, predicted: np.ndarray) -> str:
    """scikit-learn's classification report of the ten digits, to four decimals."""
    return classification_report(actual, predicted, labels=range(10), target_names=DIGITS, digits=4, zero_division=0)


def top_confusions(actual: np.ndarray, predicted: np.ndarray, top: int = 3) -> dict[str, int]:
    """The `top` most frequent errors as `{"actual->predicted": count}`."""
    errors = Counter(f"{a}->{p}" for a, p in zip(actual, predicted, strict=True) if a != p)
    return dict(errors.most_common(top))


def held_out_speakers(keys: pd.DataFrame, chosen: list[str] | str) -> list[str]:
    """The speakers to hold out in turn: `chosen`, or every speaker when it is `"all"`; never a speaker of a
    training-only corpus."""
    speakers = sorted(keys["speaker"][~keys["training_only"].astype(bool)].dropna().unique())
    if len(speakers) < 2:
        raise DigitsError("leave-one-speaker-out needs clips from at least 2 speakers")
    if chosen == "all":
        return speakers
    unknown = sorted(set(chosen) - set(speakers))
    if unknown:
        raise DigitsError(f"crossval.speakers not in the data: {', '.join(unknown)}")
    return list(chosen)


def fold_scores(actual: np.ndarray, combined: np.ndarray, per_view: np.ndarray) -> dict:
    """A held-out speaker's scores from the class probabilities of its clips, combined over views `(n, 10)`
    and per view `(n, views, 10)`: accuracy, accuracy of each clip alone (view 0), macro F1, top confusions."""
    predicted = combined.argmax(axis=1)
    return {
        "accuracy": round(float(np.mean(predicted == actual)), 6),
        "accuracy_one_view": round(float(np.mean(per_view[:, 0].argmax(axis=1) == actual)), 6),
        "macro_f1": round(float(f1_score(actual, predicted, labels=range(10), average="macro")), 6),
        "clips": len(actual),
    }


def crossval_summary(folds: dict[str, dict]) -> dict:
    """Mean and standard deviation over the folds of their accuracy, and means of their other scores."""
    accuracies = [fold["accuracy"] for fold in folds.values()]
    return {
        "mean_accuracy": round(float(np.mean(accuracies)), 6),
        "std_accuracy": round(float(np.std(accuracies)), 6),
        "mean_macro_f1": round(float(np.mean([fold["macro_f1"] for fold in folds.values()])), 6),
        "mean_accuracy_one_view": round(float(np.mean([fold["accuracy_one_view"] for fold in folds.values()])), 6),
    }


def strings_summary(folds: dict[str, dict]) -> dict:
    """Mean over the folds of how each read its held-out speaker's digit strings (`strings.read_strings`), and
    each fold's whole-string accuracy; {} when no fold read any."""
    read = {name: fold["strings"] for name, fold in folds.items() if fold.get("strings", {}).get("strings")}
    if not read:
        return {}
    keys = ("string_accuracy", "miscounted", "digit_accuracy")
    return {
        **{f"mean_{key}": round(float(np.mean([r[key] for r in read.values()])), 6) for key in keys},
        "strings_per_speaker": next(iter(read.values()))["strings"],
        "string_accuracy": {name: r["string_accuracy"] for name, r in read.items()},
    }
