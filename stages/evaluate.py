"""Stage `evaluate`: score the model on the test split, each clip's prediction combined over its views.

    python -m stages.evaluate data/features models metrics/eval.json metrics/predictions.csv
        metrics/classification_report.txt metrics/confusion.png

Writes the accuracy and macro/weighted and per-class precision, recall and F1; the predictions (for
`dvc plots`' confusion matrix); scikit-learn's report and a confusion-matrix picture.
"""

from pathlib import Path

import pandas as pd

from digits import DigitsError, stage, write_json
from digits.features import select_input
from digits.plots import confusion_figure
from digits.recognise import recognise
from digits.runtime import KerasModel
from digits.scoring import report_text, scores
from digits.table import load_features


def run(features: Path, models: Path, eval_json: Path, predictions: Path, report: Path, confusion: Path) -> None:
    """Score the model in the folder `models` on the test split of the feature table `features`."""
    keys, matrix, summary, feature_params = load_features(features, views=True)
    model = KerasModel.load(models)
    if model.meta["feature_params"] != feature_params.to_dict():
        raise DigitsError("the features were computed with other params than the model was trained on")
    test = (keys["split"] == "test").to_numpy()
    if not test.any():
        raise DigitsError("the test split is empty")
    actual = keys["label"].to_numpy()[test]
    combined, _ = recognise(model, select_input(model.meta["input"], matrix, summary)[test])
    predicted = combined.argmax(axis=1)
    for dest in (eval_json, predictions, report, confusion):
        dest.parent.mkdir(parents=True, exist_ok=True)
    write_json(eval_json, scores(actual, predicted))
    pd.DataFrame({"path": keys["path"][test], "actual": actual, "predicted": predicted}).to_csv(
        predictions, index=False
    )
    text = report_text(actual, predicted)
    report.write_text(text)
    confusion_figure(actual, predicted, confusion)
    print(text)


if __name__ == "__main__":
    stage.main(run)
