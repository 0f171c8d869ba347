"""Stage `detector`: learn to say "no digit heard", its threshold from voices it never heard, an open-set test.

    python -m stages.detector data/negatives data/features data/augmented models/frontend models/detector.onnx
        metrics/openset.json metrics/openset/refused.csv data/held_out/detector.parquet

The shipped detector trains on every voice; `detector.folds` more, each without a fold of voices, score
those voices' digits, and their threshold is the shipped one's (see `digits.detector`). Writes the detector
(ONNX), the digits of new voices it refuses, the val split's and the open-set test's error rates, the
corpus clips it refuses (`refused.csv`, counted per corpus and split in `openset.json`) and the out-of-fold digit
scores of the voices' clips (for stage `new_voices`).
"""

from pathlib import Path

import numpy as np

from digits import stage
from digits.detector import build_detector, load_inputs
from digits.engines import cores
from digits.export import export_checked
from digits.params import CrossvalParams, DetectorParams, PredictParams, TrainParams
from digits.refusal import Strings, write_report
from digits.segment import PauseParams
from digits.training import one_thread


def run(
    p: DetectorParams,
    train: TrainParams,
    crossval: CrossvalParams,
    predict: PredictParams,
    negatives: Path,
    features: Path,
    augmented: Path,
    frontend: Path,
    detector: Path,
    openset_json: Path,
    refused_csv: Path,
    held_out: Path,
) -> None:
    """Train the detector on `features`, `augmented` and `negatives`; write it as `detector` (ONNX), its error
    rates (new voices' digits and the parts of their `crossval.strings` digit strings, split as `predict.sequence`
    splits them) to `openset_json`, the corpus clips it refuses to `refused_csv` and the out-of-fold digit scores
    to `held_out`."""
    one_thread()  # the same bits whatever the core count
    paths = (negatives, features, augmented, frontend)
    strings = Strings(crossval.strings, PauseParams(**predict.sequence.model_dump()))
    model, found = build_detector(p, train.spec_augment, paths, strings, min(cores(), p.folds))
    data = load_inputs(*paths)  # already read: checked as exported on every corpus clip and training non-digit
    checked = np.concatenate([data.views[:, 0], data.negatives["train"][0][:, 0]])
    print(export_checked(model, model.meta, checked, detector))
    print(write_report(found, openset_json, refused_csv, held_out))


if __name__ == "__main__":
    stage.main(run)
