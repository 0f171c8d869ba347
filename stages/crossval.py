"""Stage `crossval`: leave-one-speaker-out accuracy, the headline figure (voices the model never heard).

    python -m stages.crossval data/features data/augmented models/frontend metrics/crossval.json
        metrics/crossval/predictions.csv data/crossval/mfcc.parquet metrics/timing/crossval.json

For each speaker, the training recipe (the `model` and `train` params) is run on all the other
speakers' clips and their augmented copies, then scored on the held-out speaker, each clip's
prediction combined over its test-time views (`accuracy_one_view` scores the clip alone). Writes
per-speaker accuracy, macro F1 and most frequent confusions with their mean and standard deviation, and how
each fold's model reads `crossval.strings` digit strings of its held-out speaker (as `digits predict --sequence`);
the predictions, for a `dvc plots` confusion matrix; each held-out clip's log-probabilities, clean and
(`crossval.noise`) in noise, for stage `fusion`; and the training wall time per fold and of the whole stage,
kept apart so that the metrics themselves are reproducible to the bit. The folds train side by side, one
process per core (`crossval.workers`), each on one thread: the same bits whatever the number.

Speakers of a training-only corpus (synthetic voices) are never held out: they are in every fold's
training set. With `crossval.cross_corpus`, one more model is trained on the training-only corpora
alone and scored on every clip of the others (`cross_corpus`: synthetic voices -> real ones).
"""

import time
from pathlib import Path

import pandas as pd

from digits import replacing_file, stage, write_json
from digits.engines import cores
from digits.folds import train_folds
from digits.fusion import accuracy_in_noise
from digits.params import CrossvalParams, ModelParams, PredictParams, TrainParams
from digits.scoring import crossval_summary, held_out_speakers, strings_summary
from digits.segment import PauseParams
from digits.table import load_features

CROSS_CORPUS = "cross_corpus"  # the fold trained on the training-only corpora alone


def run(
    p: CrossvalParams,
    train_params: TrainParams,
    model_params: ModelParams,
    predict: PredictParams,
    features: Path,
    augmented: Path,
    frontend: Path,
    crossval_json: Path,
    predictions: Path,
    log_proba: Path,
    timing: Path,
) -> None:
    """Hold out each speaker of the feature tables `features` and `augmented` in turn; then, if there is a
    training-only corpus and `p.cross_corpus`, train on it alone and score every clip of the others. The folds
    train side by side on `p.workers` processes (0: one per core), each on one thread."""
    stage_started = time.perf_counter()
    keys, matrices, _, _ = load_features(features, views=True)
    speaker, training_only = keys["speaker"].to_numpy(), keys["training_only"].to_numpy(bool)
    speakers = held_out_speakers(keys, p.speakers)
    masks = {name: (speaker != name, speaker == name) for name in speakers}
    trained_on = sorted(keys["corpus"][training_only].unique())
    if p.cross_corpus and training_only.any():
        masks[CROSS_CORPUS] = (training_only, ~training_only)
    workers = min(p.workers or cores(), len(masks))
    print(f"{len(masks)} folds on {workers} processes, one thread each")
    results = {}
    strings = (p.strings, PauseParams(**predict.sequence.model_dump()))
    trained = train_folds(
        masks, model_params.kind, features, augmented, frontend, model_params, train_params, workers, strings, p.noise
    )
    for name, fold in trained:
        results[name] = fold
        print(
            f"{name}: accuracy {fold.scores['accuracy']:.4f} ({fold.seconds:.0f} s training on "
            f"{fold.scores['train_examples']} examples; {len(results)} of {len(masks)} folds done)"
        )
    folds = {name: results[name].scores for name in speakers}
    summary = {"model": model_params.kind, "parameters": results[speakers[-1]].parameters, **crossval_summary(folds)}
    summary["test_views"] = matrices.shape[1]
    summary["strings"] = strings_summary(folds)
    held_out = pd.concat([results[name].log_proba for name in speakers], ignore_index=True)
    summary["noise"] = accuracy_in_noise(held_out)
    summary["folds"] = folds
    if CROSS_CORPUS in results:
        cross = results[CROSS_CORPUS].scores
        summary[CROSS_CORPUS] = {"train": trained_on, "test": sorted(keys["corpus"][~training_only].unique()), **cross}
        print(
            f"cross-corpus: trained on {', '.join(trained_on)} only, accuracy {cross['accuracy']:.4f} on all "
            f"{cross['clips']} clips of the other corpora"
        )
    for dest in (crossval_json, predictions, log_proba, timing):
        dest.parent.mkdir(parents=True, exist_ok=True)
    write_json(crossval_json, summary)
    with replacing_file(log_proba) as partial:
        held_out.to_parquet(partial, index=False)
    columns = ["fold", "path", "actual", "predicted"]
    pd.concat([results[name].predictions.assign(fold=name) for name in speakers])[columns].to_csv(
        predictions, index=False
    )
    seconds = {name: results[name].seconds for name in masks}
    wall = {
        "train_seconds": seconds,
        "total_train_seconds": round(sum(seconds.values()), 1),
        "workers": workers,
        "threads_per_worker": max(fold.threads for fold in results.values()),
        "stage_seconds": round(time.perf_counter() - stage_started, 1),
    }
    write_json(timing, wall)
    print(
        f"leave-one-speaker-out ({len(folds)} speakers): accuracy {summary['mean_accuracy']:.4f} "
        f"± {summary['std_accuracy']:.4f}, macro F1 {summary['mean_macro_f1']:.4f}"
    )
    if summary["strings"]:
        print(f"digit strings read whole and right: {summary['strings']['mean_string_accuracy']:.4f}")
    if summary["noise"]:
        print("in noise: " + ", ".join(f"{kind} {found:.4f}" for kind, found in summary["noise"].items()))


if __name__ == "__main__":
    stage.main(run)
