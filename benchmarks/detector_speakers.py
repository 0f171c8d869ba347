"""The "no digit heard" detector on voices it never heard: the detector stage run once per held-out FSDD speaker.

    python -m benchmarks.detector_speakers [SPEAKER ...]   # default: every FSDD speaker; about 3 min each

For each speaker, copies of the feature tables have that speaker's clips (all splits) moved to `test`, and
their augmented copies, and any copy babbled with their voice, removed; the detector stage then trains,
chooses its threshold on the remaining val split and scores, exactly as in the pipeline. Prints how many of
the speaker's clips are refused. Then pools every clip's out-of-fold score (each scored by the detector
that never heard its voice) and prints the threshold a new voice would need, with what the pipeline's
detector (models/detector.onnx) would accept of the test non-digits at it. Not part of `make bench`: it
trains six detectors. Needs `make run` first.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from digits.openset import digit_score
from digits.params import DetectorParams, TrainParams, load
from digits.recognise import recognise
from digits.runtime import OnnxModel
from digits.table import load_features
from stages.detector import LABELS, negative_views, run

DATA = Path("data")


def without(speaker: str, dest: Path) -> None:
    """Copies of data/features (the speaker's clips in `test`) and data/augmented (their copies dropped)."""
    for name in ("features", "augmented"):
        (dest / name).mkdir(parents=True)
        for part in sorted((DATA / name).glob("*.parquet")):
            table = pq.read_table(part)
            voice = table["speaker"].to_pandas()
            if name == "features":
                split = table["split"].to_pandas().astype(str).where(voice != speaker, "test")
                table = table.set_column(table.column_names.index("split"), "split", pa.array(split))
            else:
                keep = (voice != speaker) & (table["noise_speaker"].to_pandas() != speaker)
                table = table.filter(pa.array(keep.to_numpy()))
            pq.write_table(table, dest / name / part.name)


def main(speakers: list[str]) -> None:
    keys, views, _, _ = load_features(DATA / "features", views=True)
    speakers = speakers or sorted(keys.loc[keys["corpus"] == "fsdd", "speaker"].unique())
    pooled = []
    with tempfile.TemporaryDirectory(prefix="held-out-") as tmp:
        for speaker in speakers:
            work = Path(tmp) / speaker.replace("/", "_")
            without(speaker, work)
            outs = [work / name for name in ("detector.onnx", "openset.json", "refused.csv")]
            run(
                load(DetectorParams),
                load(TrainParams),
                DATA / "negatives",
                work / "features",
                work / "augmented",
                *outs,
            )
            mine = (keys["speaker"] == speaker).to_numpy()
            scores = digit_score(recognise(OnnxModel(outs[0]), views[mine])[0])
            threshold = OnnxModel(outs[0]).meta["threshold"]
            refused, clips = int(np.sum(scores < threshold)), int(mine.sum())
            print(f"{speaker}: {refused} of {clips} clips refused ({refused / clips:.1%}), threshold {threshold:.3f}")
            pooled.append(scores)
    negatives, labels = negative_views(DATA / "negatives", "test", DATA / "features")
    others = digit_score(recognise(OnnxModel(Path("models/detector.onnx")), negatives)[0])
    words = labels == LABELS.index("word")
    for share in (0.005, 0.01, 0.02):
        threshold = float(np.quantile(np.concatenate(pooled), share))
        print(
            f"out-of-fold threshold refusing {share:.1%} of new voices' digits: {threshold:.3f}; the pipeline's "
            f"detector accepts {np.mean(others >= threshold):.1%} of the test non-digits there "
            f"({np.mean(others[words] >= threshold):.1%} of the words)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
