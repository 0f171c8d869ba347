"""Stage `new_voices`: what `digits predict` answers voices it never heard, right, wrong or "no digit heard".

    python -m stages.new_voices data/crossval/shipped.parquet data/crossval/whisper.parquet
        data/crossval/mfcc.parquet data/held_out/whisper_detector.parquet data/held_out/detector.parquet
        metrics/new_voices.json

Each recogniser as `digits predict` runs it: the shipped sum and Whisper alone with Whisper's detector, MFCC with
its own. Every clip is answered out of fold by the recogniser and the detector, at a threshold chosen on the
other voices (see `digits.new_voices`).
"""

from pathlib import Path

import pandas as pd

from digits import stage, write_json
from digits.new_voices import as_shipped
from digits.params import DetectorParams, WhisperDetectorParams


def run(
    detector: DetectorParams, whisper_detector: WhisperDetectorParams, shipped: Path, whisper: Path, mfcc: Path,
    whisper_held_out: Path, mfcc_held_out: Path, metrics_json: Path,
) -> None:  # fmt: skip
    """Answer the crossval tables `shipped`, `whisper` and `mfcc` with the detectors' out-of-fold scores
    (`whisper_held_out` for the first two, `mfcc_held_out`); write each one's answers to `metrics_json`."""
    whisper_scores, mfcc_scores = pd.read_parquet(whisper_held_out), pd.read_parquet(mfcc_held_out)
    found = {
        "shipped": as_shipped(pd.read_parquet(shipped), whisper_scores, whisper_detector.max_false_refusals),
        "whisper": as_shipped(pd.read_parquet(whisper), whisper_scores, whisper_detector.max_false_refusals),
        "mfcc": as_shipped(pd.read_parquet(mfcc), mfcc_scores, detector.max_false_refusals),
    }
    write_json(metrics_json, found)
    for name, answered in found.items():
        mean = answered["mean"]
        print(
            f"{name}: right {mean['right']:.4f}, wrong {mean['wrong']:.4f}, refused {mean['refused']:.4f} "
            f"(mean of {len(answered['voices'])} voices never heard, each at a threshold chosen on the others)"
        )


if __name__ == "__main__":
    stage.main(run)
