"""Stage `whisper_detector`: "no digit heard" for the Whisper recogniser, its threshold from voices it never heard.

    python -m stages.whisper_detector data/whisper_features data/whisper_augmented data/whisper_negatives
        models/whisper/tiny.en models/whisper/detector metrics/whisper/openset.json metrics/whisper/openset/refused.csv
        data/held_out/whisper_detector.parquet

The shipped detector trains on every voice; `whisper_detector.folds` more, each without a fold of voices, score
those voices' digits and the parts of their digit strings, and set the thresholds (see `digits.refusal`).
Writes the detector, its report (new voices' digits refused, the val split's and the open-set test's error
rates), the corpus clips it refuses and the out-of-fold digit scores of the voices' clips (for `new_voices`).
"""

from pathlib import Path

from digits import stage
from digits.params import CrossvalParams, PredictParams, WhisperDetectorParams, WhisperFeaturesParams
from digits.refusal import Strings, write_report
from digits.segment import PauseParams
from digits.whisper import Whisper, WhisperParams
from digits.whisper_detector import build_detector, load_tables
from digits.whisper_head import save


def run(
    p: WhisperDetectorParams, whisper: WhisperFeaturesParams, crossval: CrossvalParams, predict: PredictParams,
    features: Path, augmented: Path, negatives: Path, model: Path, detector: Path, openset_json: Path,
    refused_csv: Path, held_out: Path,
) -> None:  # fmt: skip
    """Train the detector on the Whisper tables `features`, `augmented` and `negatives` (Whisper's files in
    `model` read the held-out voices' `crossval.strings`, split as `predict.sequence` splits them); write it into
    the folder `detector`, its report to `openset_json`, the corpus clips it refuses to `refused_csv` and the
    out-of-fold digit scores to `held_out`."""
    params = WhisperParams(whisper.window, whisper.compute_type)
    reader = Whisper(model, params, whisper.threads) if crossval.strings.count else None
    strings = Strings(crossval.strings, PauseParams(**predict.sequence.model_dump()))
    head, meta, found = build_detector(p, load_tables(features, augmented, negatives), strings, reader,
                                                 whisper.batch_size)  # fmt: skip
    save(detector, head, {**meta, "whisper_params": params.to_dict(), "c": p.c})
    print(write_report(found, openset_json, refused_csv, held_out))


if __name__ == "__main__":
    stage.main(run)
