"""The "no digit heard" detector on voices it never heard: the detector stage run once per held-out FSDD speaker.

    python -m benchmarks.detector_speakers [--negatives DIR] [SPEAKER ...]   # default: every FSDD speaker

For each speaker, copies of the feature tables have that speaker's clips (all splits) moved to `test`, and
their augmented copies, and any copy babbled with their voice, removed; the detector stage then trains,
chooses its threshold on the remaining val split and scores, exactly as in the pipeline, one process per
core on one thread each (about 3 minutes a speaker). Prints, per speaker, how many of their clips are
refused and what share of the val and the test non-digits that detector accepts. Then pools every clip's
out-of-fold score (each scored by the detector that never heard its voice) and prints the threshold a new
voice would need, with the share of val and test non-digits the held-out detectors accept there (their
mean). Settings are compared on the val figures; the test ones are for the record.
Not part of `make bench`: it trains six detectors. Needs `make run` first.
"""

import argparse
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from digits.engines import cores
from digits.openset import digit_score
from digits.params import DetectorParams, TrainParams, load
from digits.recognise import recognise
from digits.runtime import OnnxModel
from digits.table import load_features
from stages.detector import LABELS, negative_views, run

DATA = Path("data")
SPLITS = ("val", "test")


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


def held_out(speaker: str, negatives: Path, work: Path) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """Train the detector without `speaker`: (their clips' digit scores, the digit scores of the non-digits of
    each of `SPLITS`, its threshold)."""
    without(speaker, work)
    outs = [work / name for name in ("detector.onnx", "openset.json", "refused.csv")]
    run(load(DetectorParams), load(TrainParams), negatives, work / "features", work / "augmented", *outs)
    keys, views, _, _ = load_features(DATA / "features", views=True)
    mine = (keys["speaker"] == speaker).to_numpy()
    detector = OnnxModel(outs[0])
    others = {split: negative_views(negatives, split, DATA / "features")[0] for split in SPLITS}
    scores = {split: digit_score(recognise(detector, x)[0]) for split, x in others.items()}
    return digit_score(recognise(detector, views[mine])[0]), scores, detector.meta["threshold"]


def main(negatives: Path, speakers: list[str]) -> None:
    keys, _, _, _ = load_features(DATA / "features", views=True)
    speakers = speakers or sorted(keys.loc[keys["corpus"] == "fsdd", "speaker"].unique())
    with (
        tempfile.TemporaryDirectory(prefix="held-out-") as tmp,
        ProcessPoolExecutor(min(cores(), len(speakers)), mp_context=get_context("spawn")) as pool,
    ):
        futures = [pool.submit(held_out, s, negatives, Path(tmp) / s.replace("/", "_")) for s in speakers]
        folds = [future.result() for future in futures]
    words = {split: negative_views(negatives, split, DATA / "features")[1] == LABELS.index("word") for split in SPLITS}

    def accepted(threshold: float, others: list[dict[str, np.ndarray]]) -> str:
        """What the detectors (their mean) accept at `threshold` of each split's non-digits, and of its words."""
        return "; ".join(
            f"{split} {np.mean([np.mean(o[split] >= threshold) for o in others]):.1%} "
            f"(words {np.mean([np.mean(o[split][words[split]] >= threshold) for o in others]):.1%})"
            for split in SPLITS
        )

    for speaker, (mine, others, threshold) in zip(speakers, folds, strict=True):
        print(
            f"{speaker}: {np.sum(mine < threshold)} of {len(mine)} clips refused ({np.mean(mine < threshold):.1%}), "
            f"threshold {threshold:.3f}; that detector accepts of the non-digits: {accepted(threshold, [others])}"
        )
    refused = sum(int(np.sum(mine < threshold)) for mine, _, threshold in folds)
    clips = sum(len(mine) for mine, _, _ in folds)
    print(f"new voices at each detector's own threshold: {refused} of {clips} digits refused ({refused / clips:.1%})")
    pooled = np.concatenate([mine for mine, _, _ in folds])
    for share in (0.005, 0.01, 0.02):
        threshold = float(np.quantile(pooled, share))
        print(
            f"out-of-fold threshold refusing {share:.1%} of new voices' digits: {threshold:.3f}; there the held-out "
            f"detectors accept of the non-digits: {accepted(threshold, [others for _, others, _ in folds])}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--negatives", type=Path, default=DATA / "negatives", help="the non-digits (data/negatives)")
    parser.add_argument("speakers", nargs="*", help="FSDD speakers to hold out, as fsdd/NAME (default: all)")
    args = parser.parse_args()
    main(args.negatives, args.speakers)
