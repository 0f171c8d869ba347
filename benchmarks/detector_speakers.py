"""The "no digit heard" detector on voices it never heard: the detector stage run once per held-out FSDD speaker.

    python -m benchmarks.detector_speakers [--negatives DIR] [SPEAKER ...]   # default: every FSDD speaker

For each speaker, copies of the feature tables have that speaker's clips (all splits) moved to `test`, and
their augmented copies, and any copy babbled with their voice, removed; the detector stage then trains,
chooses its threshold on the remaining val split and scores, exactly as in the pipeline, one process per
core on one thread each (about 3 minutes a speaker). Prints, per speaker, how many of their clips are
refused and what share of the open-set test's non-digits that detector accepts. Then pools every clip's
out-of-fold score (each scored by the detector that never heard its voice) and prints the threshold a new
voice would need, with the share of test non-digits the held-out detectors accept there (their mean).
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


def held_out(speaker: str, negatives: Path, work: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Train the detector without `speaker`: (their clips' digit scores, the test non-digits' digit scores, its
    threshold)."""
    without(speaker, work)
    outs = [work / name for name in ("detector.onnx", "openset.json", "refused.csv")]
    run(load(DetectorParams), load(TrainParams), negatives, work / "features", work / "augmented", *outs)
    keys, views, _, _ = load_features(DATA / "features", views=True)
    mine = (keys["speaker"] == speaker).to_numpy()
    detector = OnnxModel(outs[0])
    others, _ = negative_views(negatives, "test", DATA / "features")
    scores = [digit_score(recognise(detector, x)[0]) for x in (views[mine], others)]
    return *scores, detector.meta["threshold"]


def main(negatives: Path, speakers: list[str]) -> None:
    keys, _, _, _ = load_features(DATA / "features", views=True)
    speakers = speakers or sorted(keys.loc[keys["corpus"] == "fsdd", "speaker"].unique())
    with (
        tempfile.TemporaryDirectory(prefix="held-out-") as tmp,
        ProcessPoolExecutor(min(cores(), len(speakers)), mp_context=get_context("spawn")) as pool,
    ):
        futures = [pool.submit(held_out, s, negatives, Path(tmp) / s.replace("/", "_")) for s in speakers]
        folds = [future.result() for future in futures]
    _, labels = negative_views(negatives, "test", DATA / "features")
    words = labels == LABELS.index("word")
    for speaker, (mine, others, threshold) in zip(speakers, folds, strict=True):
        print(
            f"{speaker}: {np.sum(mine < threshold)} of {len(mine)} clips refused ({np.mean(mine < threshold):.1%}), "
            f"threshold {threshold:.3f}; that detector accepts {np.mean(others >= threshold):.1%} of the test "
            f"non-digits ({np.mean(others[words] >= threshold):.1%} of the words)"
        )
    refused = sum(int(np.sum(mine < threshold)) for mine, _, threshold in folds)
    clips = sum(len(mine) for mine, _, _ in folds)
    print(f"new voices at each detector's own threshold: {refused} of {clips} digits refused ({refused / clips:.1%})")
    pooled = np.concatenate([mine for mine, _, _ in folds])
    for share in (0.005, 0.01, 0.02):
        threshold = float(np.quantile(pooled, share))
        accepted = np.mean([np.mean(others >= threshold) for _, others, _ in folds])
        accepted_words = np.mean([np.mean(others[words] >= threshold) for _, others, _ in folds])
        print(
            f"out-of-fold threshold refusing {share:.1%} of new voices' digits: {threshold:.3f}; there the held-out "
            f"detectors accept {accepted:.1%} of the test non-digits ({accepted_words:.1%} of the words)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--negatives", type=Path, default=DATA / "negatives", help="the non-digits (data/negatives)")
    parser.add_argument("speakers", nargs="*", help="FSDD speakers to hold out, as fsdd/NAME (default: all)")
    args = parser.parse_args()
    main(args.negatives, args.speakers)
