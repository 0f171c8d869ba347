"""Stage `evaluate`: score the model on the test split (each clip's prediction combined over its views).

Writes `metrics/eval.json` (accuracy, macro/weighted and per-class precision, recall, F1),
`metrics/predictions.csv` (for the `dvc plots` confusion matrix), `metrics/confusion.png` and
`metrics/classification_report.txt`.
"""

import json
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from sklearn.metrics import ConfusionMatrixDisplay, classification_report

from stages import DigitsError
from stages.features import load_features
from stages.frontend import select_input
from stages.models import load
from stages.runtime import combine_views, view_probabilities

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


def run(
    features: Path = Path("data/features"), model_dir: Path = Path("models"), out_dir: Path = Path("metrics")
) -> None:
    """Run the stage (it has no params of its own)."""
    keys, matrix, summary, feature_params = load_features(features, views=True)
    model, meta = load(model_dir)
    if meta["feature_params"] != feature_params.to_dict():
        raise DigitsError("the features were computed with other params than the model was trained on")
    test = (keys["split"] == "test").to_numpy()
    if not test.any():
        raise DigitsError("the test split is empty")
    x = select_input(meta["input"], matrix, summary)[test]
    actual = keys["label"].to_numpy()[test]
    predicted = combine_views(view_probabilities(partial(model.predict, verbose=0), x)).argmax(axis=1)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(scores(actual, predicted), indent=2) + "\n")
    pd.DataFrame({"path": keys["path"][test], "actual": actual, "predicted": predicted}).to_csv(
        out_dir / "predictions.csv", index=False
    )
    text = classification_report(actual, predicted, labels=range(10), target_names=DIGITS, digits=4, zero_division=0)
    (out_dir / "classification_report.txt").write_text(text)
    display = ConfusionMatrixDisplay.from_predictions(actual, predicted, labels=range(10), colorbar=False)
    display.ax_.set_title(f"Test split: accuracy {np.mean(actual == predicted):.4f} on {len(actual)} clips")
    display.figure_.savefig(out_dir / "confusion.png", dpi=100, bbox_inches="tight")
    print(text)
