"""Stage `crossval`: leave-one-speaker-out accuracy, the headline figure (voices the model never heard).

    python -m stages.crossval data/features data/augmented metrics/crossval.json metrics/crossval/predictions.csv
        metrics/timing/crossval.json

For each speaker, the training recipe (the `model` and `train` params) is run on all the other
speakers' clips and their augmented copies, then scored on the held-out speaker, each clip's
prediction combined over its test-time views (`accuracy_one_view` scores the clip alone). Writes
per-speaker accuracy, macro F1 and most frequent confusions with their mean and standard deviation;
the predictions, for a `dvc plots` confusion matrix; and the training wall time per fold and of the
whole stage, kept apart so that the metrics themselves are reproducible to the bit.
"""

import json
import time
from pathlib import Path

import pandas as pd

from digits import stage
from digits.params import CrossvalParams, ModelParams, TrainParams
from digits.recognise import recognise
from digits.runtime import KerasModel
from digits.scoring import crossval_summary, fold_scores, held_out_speakers, top_confusions
from digits.training import fit, load_inputs, training_set


def run(
    p: CrossvalParams,
    train_params: TrainParams,
    model_params: ModelParams,
    features: Path,
    augmented: Path,
    crossval_json: Path,
    predictions: Path,
    timing: Path,
) -> None:
    """Hold out each speaker of the feature tables `features` and `augmented` in turn."""
    stage_started = time.perf_counter()
    kind = model_params.kind
    keys, views, copies, _ = load_inputs(kind, features, augmented, views=True)
    labels = keys["label"].to_numpy()
    folds, seconds, rows, parameters = {}, {}, [], 0
    speakers = held_out_speakers(keys, p.speakers)
    for number, speaker in enumerate(speakers, 1):
        test = (keys["speaker"] == speaker).to_numpy()
        x_train, y_train = training_set(keys, views[:, 0], ~test, copies)
        started = time.perf_counter()
        model, _ = fit(model_params, train_params, x_train, y_train)
        seconds[speaker] = round(time.perf_counter() - started, 1)
        combined, per_view = recognise(KerasModel(model, {}), views[test])
        parameters = model.count_params()
        folds[speaker] = {
            **fold_scores(labels[test], combined, per_view),
            "train_examples": len(x_train),
            "top_confusions": top_confusions(labels[test], combined.argmax(axis=1)),
        }
        rows.append(
            pd.DataFrame(
                {
                    "speaker": speaker,
                    "path": keys["path"][test],
                    "actual": labels[test],
                    "predicted": combined.argmax(axis=1),
                }
            )
        )
        print(
            f"fold {number}/{len(speakers)}, {speaker} held out: accuracy {folds[speaker]['accuracy']:.4f} "
            f"({seconds[speaker]:.0f} s training on {len(x_train)} examples)"
        )

    summary = {"model": kind, "parameters": parameters, **crossval_summary(folds), "test_views": views.shape[1]}
    summary["folds"] = folds
    for dest in (crossval_json, predictions, timing):
        dest.parent.mkdir(parents=True, exist_ok=True)
    crossval_json.write_text(json.dumps(summary, indent=2) + "\n")
    pd.concat(rows).to_csv(predictions, index=False)
    wall = {
        "train_seconds": seconds,
        "total_train_seconds": round(sum(seconds.values()), 1),
        "stage_seconds": round(time.perf_counter() - stage_started, 1),
    }
    timing.write_text(json.dumps(wall, indent=2) + "\n")
    print(
        f"leave-one-speaker-out ({len(folds)} speakers): accuracy {summary['mean_accuracy']:.4f} "
        f"± {summary['std_accuracy']:.4f}, macro F1 {summary['mean_macro_f1']:.4f}"
    )


if __name__ == "__main__":
    stage.main(run)
