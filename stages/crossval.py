"""Stage `crossval`: leave-one-speaker-out accuracy, the headline figure (voices the model never heard).

For each speaker, the training recipe (`train.fit`, the `model` and `train` params) is run on all
the other speakers' clips and their augmented copies, then scored on the held-out speaker, each
clip's prediction combined over its test-time views (`features.test_speeds`; `accuracy_one_view`
scores the clip alone). Writes `metrics/crossval.json` (per-speaker accuracy, macro F1 and most
frequent confusions; mean and standard deviation), `metrics/crossval/predictions.csv` for a
`dvc plots` confusion matrix, and the training wall time per fold and of the whole stage in
`metrics/timing/crossval.json`, kept apart so that the metrics themselves are reproducible to the bit.
"""

import json
import time
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from stages import DigitsError
from stages.runtime import combine_views, view_probabilities
from stages.train import fit, load_inputs, training_set


def top_confusions(actual: np.ndarray, predicted: np.ndarray, top: int = 3) -> dict[str, int]:
    """The `top` most frequent errors as `{"actual->predicted": count}`."""
    errors = Counter(f"{a}->{p}" for a, p in zip(actual, predicted, strict=True) if a != p)
    return dict(errors.most_common(top))


def held_out_speakers(keys: pd.DataFrame, chosen: list[str] | str) -> list[str]:
    """The speakers to hold out in turn: `chosen`, or every speaker when it is `"all"`."""
    speakers = sorted(keys["speaker"].unique())
    if len(speakers) < 2:
        raise DigitsError("leave-one-speaker-out needs clips from at least 2 speakers")
    if chosen == "all":
        return speakers
    unknown = sorted(set(chosen) - set(speakers))
    if unknown:
        raise DigitsError(f"crossval.speakers not in the data: {', '.join(unknown)}")
    return list(chosen)


def run(
    params: dict,
    train_params: dict,
    model_params: dict,
    features: Path = Path("data/features"),
    augmented: Path = Path("data/augmented"),
    out_dir: Path = Path("metrics"),
) -> None:
    """Run the stage with the `crossval` section and the training recipe (`train`, `model`)."""
    stage_started = time.perf_counter()
    kind = model_params["kind"]
    keys, views, copies, _ = load_inputs(kind, features, augmented, views=True)
    labels = keys["label"].to_numpy()
    folds, seconds, predictions, parameters = {}, {}, [], 0
    for speaker in held_out_speakers(keys, params["speakers"]):
        test = (keys["speaker"] == speaker).to_numpy()
        x_train, y_train = training_set(keys, views[:, 0], ~test, copies)
        started = time.perf_counter()
        model, _ = fit(kind, model_params, train_params, x_train, y_train, verbose=0)
        seconds[speaker] = round(time.perf_counter() - started, 1)
        probabilities = view_probabilities(partial(model.predict, verbose=0, batch_size=256), views[test])
        predicted = combine_views(probabilities).argmax(axis=1)
        parameters = model.count_params()
        folds[speaker] = {
            "accuracy": round(float(np.mean(predicted == labels[test])), 6),
            "accuracy_one_view": round(float(np.mean(probabilities[:, 0].argmax(axis=1) == labels[test])), 6),
            "macro_f1": round(float(f1_score(labels[test], predicted, labels=range(10), average="macro")), 6),
            "clips": int(test.sum()),
            "train_examples": len(x_train),
            "top_confusions": top_confusions(labels[test], predicted),
        }
        predictions.append(
            pd.DataFrame(
                {"speaker": speaker, "path": keys["path"][test], "actual": labels[test], "predicted": predicted}
            )
        )
        print(f"held out {speaker}: accuracy {folds[speaker]['accuracy']:.4f} ({seconds[speaker]:.0f} s training)")

    accuracies = [fold["accuracy"] for fold in folds.values()]
    summary = {
        "model": kind,
        "parameters": parameters,
        "mean_accuracy": round(float(np.mean(accuracies)), 6),
        "std_accuracy": round(float(np.std(accuracies)), 6),
        "mean_macro_f1": round(float(np.mean([fold["macro_f1"] for fold in folds.values()])), 6),
        "mean_accuracy_one_view": round(float(np.mean([fold["accuracy_one_view"] for fold in folds.values()])), 6),
        "test_views": views.shape[1],
        "folds": folds,
    }
    (out_dir / "crossval").mkdir(parents=True, exist_ok=True)
    (out_dir / "timing").mkdir(parents=True, exist_ok=True)
    (out_dir / "crossval.json").write_text(json.dumps(summary, indent=2) + "\n")
    pd.concat(predictions).to_csv(out_dir / "crossval" / "predictions.csv", index=False)
    timing = {
        "train_seconds": seconds,
        "total_train_seconds": round(sum(seconds.values()), 1),
        "stage_seconds": round(time.perf_counter() - stage_started, 1),
    }
    (out_dir / "timing" / "crossval.json").write_text(json.dumps(timing, indent=2) + "\n")
    print(
        f"leave-one-speaker-out ({len(folds)} speakers): accuracy {summary['mean_accuracy']:.4f} "
        f"± {summary['std_accuracy']:.4f}, macro F1 {summary['mean_macro_f1']:.4f}"
    )
