"""Stage `crossval`: leave-one-speaker-out accuracy, the headline figure (voices the model never heard).

    python -m stages.crossval data/features data/augmented metrics/crossval.json metrics/crossval/predictions.csv
        metrics/timing/crossval.json

For each speaker, the training recipe (the `model` and `train` params) is run on all the other
speakers' clips and their augmented copies, then scored on the held-out speaker, each clip's
prediction combined over its test-time views (`accuracy_one_view` scores the clip alone). Writes
per-speaker accuracy, macro F1 and most frequent confusions with their mean and standard deviation;
the predictions, for a `dvc plots` confusion matrix; and the training wall time per fold and of the
whole stage, kept apart so that the metrics themselves are reproducible to the bit.

Speakers of a training-only corpus (synthetic voices) are never held out: they are in every fold's
training set. With `crossval.cross_corpus`, one more model is trained on the training-only corpora
alone and scored on every clip of the others (`cross_corpus`: synthetic voices -> real ones).
"""

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from digits import stage
from digits.params import CrossvalParams, ModelParams, TrainParams
from digits.recognise import recognise
from digits.runtime import KerasModel
from digits.scoring import crossval_summary, fold_scores, held_out_speakers, top_confusions
from digits.training import fit, load_inputs, training_set

CROSS_CORPUS = "cross_corpus"  # the fold trained on the training-only corpora alone


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
    """Hold out each speaker of the feature tables `features` and `augmented` in turn; then, if there is a
    training-only corpus and `p.cross_corpus`, train on it alone and score every clip of the others."""
    stage_started = time.perf_counter()
    kind = model_params.kind
    keys, views, copies, feature_params = load_inputs(kind, features, augmented, views=True)
    mfcc = feature_params["frontend"] == "mfcc"  # SpecAugment masks MFCC matrices, not embeddings
    labels = keys["label"].to_numpy()
    training_only = keys["training_only"].to_numpy(bool)
    seconds, rows = {}, []

    def fold(name: str, train: np.ndarray, test: np.ndarray) -> dict:
        """Train on the clips at `train` (and their copies), score those at `test`; record the predictions."""
        x_train, y_train = training_set(keys, views[:, 0], train, copies)
        started = time.perf_counter()
        model, _ = fit(model_params, train_params, x_train, y_train, spec_augment=mfcc)
        seconds[name] = round(time.perf_counter() - started, 1)
        combined, per_view = recognise(KerasModel(model, {}), views[test])
        predicted = combined.argmax(axis=1)
        rows.append(
            pd.DataFrame({"fold": name, "path": keys["path"][test], "actual": labels[test], "predicted": predicted})
        )
        return {
            **fold_scores(labels[test], combined, per_view),
            "train_examples": len(x_train),
            "top_confusions": top_confusions(labels[test], predicted),
            "parameters": model.count_params(),
        }

    folds = {}
    speakers = held_out_speakers(keys, p.speakers)
    for number, speaker in enumerate(speakers, 1):
        folds[speaker] = fold(
            speaker, ~(keys["speaker"] == speaker).to_numpy(), (keys["speaker"] == speaker).to_numpy()
        )
        print(
            f"fold {number}/{len(speakers)}, {speaker} held out: accuracy {folds[speaker]['accuracy']:.4f} "
            f"({seconds[speaker]:.0f} s training on {folds[speaker]['train_examples']} examples)"
        )
    parameters = folds[speakers[-1]].pop("parameters")
    for scores in folds.values():
        scores.pop("parameters", None)
    summary = {"model": kind, "parameters": parameters, **crossval_summary(folds), "test_views": views.shape[1]}
    summary["folds"] = folds
    if p.cross_corpus and training_only.any():
        trained_on = sorted(keys["corpus"][training_only].unique())
        cross = fold(CROSS_CORPUS, training_only, ~training_only)
        cross.pop("parameters")
        summary[CROSS_CORPUS] = {"train": trained_on, "test": sorted(keys["corpus"][~training_only].unique()), **cross}
        print(
            f"cross-corpus: trained on {', '.join(trained_on)} only, accuracy {cross['accuracy']:.4f} on all "
            f"{cross['clips']} clips of the other corpora ({seconds[CROSS_CORPUS]:.0f} s training)"
        )
    for dest in (crossval_json, predictions, timing):
        dest.parent.mkdir(parents=True, exist_ok=True)
    crossval_json.write_text(json.dumps(summary, indent=2) + "\n")
    loso = pd.concat(rows)
    loso[loso["fold"] != CROSS_CORPUS].to_csv(predictions, index=False)
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
