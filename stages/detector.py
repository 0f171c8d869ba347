"""Stage `detector`: learn to say "no digit heard", choose its threshold on validation data, test it on an open set.

    python -m stages.detector data/negatives data/features data/augmented models/detector.onnx
        metrics/openset.json metrics/openset/refused.csv

A small CNN on the recogniser's own inputs (MFCC matrices) tells a digit from each kind of non-digit. It
trains on the train split's clips and augmented copies (every corpus) against the training non-digits. The
val split's digits choose the threshold: the highest that refuses at most `max_false_refusals` of them; the
val non-digits (other seeds, other words, other voices) say what it accepts. The open-set test is the test
split's digits against the test non-digits (others again). Every clip of every corpus is then checked the same way:
the ones refused are listed in `refused.csv`, and counted per corpus and split in `openset.json`.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from digits import DigitsError, stage, write_json
from digits.audio import read_clips
from digits.export import export_checked
from digits.frontend import extract_views
from digits.models import input_name
from digits.negatives import KINDS, read_negatives
from digits.openset import DIGITS, choose_threshold, digit_score, error_rates, sounds_like
from digits.params import DetectorParams, ModelParams, TrainParams
from digits.recognise import recognise
from digits.runtime import KerasModel
from digits.table import feature_params, load_features
from digits.training import EpochLine, fit, one_thread

LABELS = [*DIGITS, *KINDS]  # the detector knows each digit: a word is told from the digits, not from "speech"


def negative_views(root: Path, split: str, features: Path) -> tuple[np.ndarray, np.ndarray]:
    """(matrices of every view `(n, views, *matrix_shape)`, class labels) of the non-digits of `split`."""
    p = feature_params(features)
    clips = read_negatives(root, split)
    audio = read_clips([str(path) for path, _ in clips], p.sample_rate)
    matrices, _ = extract_views([(y, p.sample_rate) for y in audio], p)
    return matrices, np.array([LABELS.index(kind) for _, kind in clips])


def accepted_by_kind(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """The share of each kind of non-digit (class `labels`) whose digit `scores` reach `threshold`."""
    kinds = np.array(LABELS)[labels]
    return {kind: round(float(np.mean(scores[kinds == kind] >= threshold)), 4) for kind in KINDS}


def run(
    p: DetectorParams,
    train: TrainParams,
    negatives: Path,
    features: Path,
    augmented: Path,
    detector: Path,
    openset_json: Path,
    refused_csv: Path,
) -> None:
    """Train the detector on `features`, `augmented` and `negatives`; write it as `detector` (ONNX), its open-set
    error rates to `openset_json` and the corpus clips it refuses to `refused_csv`."""
    one_thread()  # the same bits whatever the core count
    keys, views, _, front_end = load_features(features, views=True)
    copy_keys, copies, _, _ = load_features(augmented)
    split = keys["split"].to_numpy()
    if not (split == "val").any() or not (split == "test").any():
        raise DigitsError("the detector needs clips in the val and test splits (see ingest.val_size, test_size)")
    train_negatives, train_labels = negative_views(negatives, "train", features)
    val_negatives, val_labels = negative_views(negatives, "val", features)
    test_negatives, test_labels = negative_views(negatives, "test", features)
    copy_train = copy_keys["split"].to_numpy() == "train"
    digits_train = np.concatenate([views[split == "train", 0], copies[copy_train]])
    x = np.concatenate([digits_train, train_negatives[:, 0]])
    digit_labels = np.concatenate(
        [keys["label"].to_numpy()[split == "train"], copy_keys["label"].to_numpy()[copy_train]]
    )
    y = np.concatenate([digit_labels, train_labels])
    print(f"detector: {len(digits_train)} digits (clips and copies) against {len(x) - len(digits_train)} non-digits")
    schedule = TrainParams(
        epochs=p.epochs, batch_size=p.batch_size, learning_rate=p.learning_rate,
        spec_augment=train.spec_augment, seed=p.seed,
    )  # fmt: skip
    model_params = ModelParams.model_construct(kind="cnn", cnn=p.cnn)  # the detector is always a CNN
    mfcc = front_end.frontend == "mfcc"
    net, _ = fit(model_params, schedule, x, y, callbacks=[EpochLine()], classes=len(LABELS), spec_augment=mfcc)
    name = input_name("cnn", front_end.matrix)
    meta = {"kind": "detector", "input": name, "feature_params": front_end.to_dict(), "labels": LABELS}
    model = KerasModel(net, meta)

    def probabilities(x_views: np.ndarray) -> np.ndarray:
        return recognise(model, x_views)[0]

    everything = probabilities(views)  # every clip of every corpus, scored once
    val_digits, val_others = everything[split == "val"], probabilities(val_negatives)
    threshold = choose_threshold(digit_score(val_digits), p.max_false_refusals)
    test_digits, test_others = everything[split == "test"], probabilities(test_negatives)
    others = digit_score(test_others)
    test = error_rates(digit_score(test_digits), others, threshold)
    kinds = np.array(LABELS)[test_labels]
    refused_named = (others < threshold) & (np.array(sounds_like(test_others, LABELS)) == kinds)
    report = {
        "threshold": round(threshold, 6),
        "chosen_on": "val split digits: at most detector.max_false_refusals refused",
        "val": error_rates(digit_score(val_digits), digit_score(val_others), threshold),
        "test": test,
        "val_false_accept_rate_by_kind": accepted_by_kind(digit_score(val_others), val_labels, threshold),
        "test_false_accept_rate_by_kind": accepted_by_kind(others, test_labels, threshold),
        "test_refusals_naming_the_right_kind": round(
            float(refused_named.sum() / max((others < threshold).sum(), 1)), 4
        ),
    }
    refused = digit_score(everything) < threshold
    table = keys.loc[refused, ["path", "corpus", "split", "label"]].assign(
        digit_score=np.round(digit_score(everything[refused]), 4), sounds_like=sounds_like(everything[refused], LABELS)
    )
    counts = keys.assign(refused=refused).groupby(["corpus", "split"])["refused"].agg(["sum", "size"])
    report["corpus_clips_refused"] = {
        f"{c}/{s}": f"{int(r['sum'])} of {int(r['size'])}" for (c, s), r in counts.iterrows()
    }
    meta["threshold"] = threshold
    print(export_checked(model, meta, x, detector))
    for dest in (openset_json, refused_csv):
        dest.parent.mkdir(parents=True, exist_ok=True)
    write_json(openset_json, report)
    pd.DataFrame(table).to_csv(refused_csv, index=False)
    print(
        f"threshold {threshold:.4f} (val: {report['val']['false_refusal_rate']:.2%} of digits refused, "
        f"{report['val']['false_accept_rate']:.2%} of non-digits accepted); open-set test: "
        f"{test['false_refusals']} of {test['digits']} digits refused ({test['false_refusal_rate']:.2%}), "
        f"{test['false_accepts']} of {test['non_digits']} non-digits accepted ({test['false_accept_rate']:.2%}); "
        f"{int(refused.sum())} corpus clips refused -> {refused_csv}"
    )


if __name__ == "__main__":
    stage.main(run)
