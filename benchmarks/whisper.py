"""Benchmark of the Whisper front end beside MFCC, every figure measured side by side in one run.

    python -m benchmarks.whisper [--clips 800] [--rounds 2]

1. Features: clips/s of each features stage's own code on all cores, on the same FSDD clips (the test split
   first): `engines.featurise` with params.yaml's `features` (MFCC, every test-time view), and
   `whisper_table.featurise` with `whisper_features` (pooled encoder states and zero-shot scores); each one's
   fastest of `--rounds` counts. Prints the ratio MFCC / Whisper.
2. Cold predict: a fresh `digits predict --frontend F one.wav` process, median of 5, for each front end.

Needs the pipeline's outputs (`make run`): the manifest, models/ and models/whisper/.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from benchmarks.scale import sized
from digits.engines import cores, featurise
from digits.features import FeatureParams
from digits.params import FeaturesParams, WhisperFeaturesParams, load
from digits.whisper_table import featurise as whisper_featurise

DIGITS = str(Path(sys.executable).parent / "digits")
COLD_RUNS = sized(5, 1)
WHISPER_DIR = Path("models/whisper/tiny.en")


def fastest(rounds: int, work: Callable[[], object]) -> float:
    """The shortest wall time of `rounds` calls of `work`."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def cold_seconds(frontend: str, clip: str) -> float:
    """Median wall time of a fresh `digits predict --frontend frontend clip` process."""
    times = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        subprocess.run([DIGITS, "predict", "--frontend", frontend, clip], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(
    clips: Annotated[int, typer.Option(help="FSDD clips to featurise (0: all)")] = 800,
    rounds: Annotated[int, typer.Option(help="Times each front end runs; the fastest counts")] = 2,
) -> None:
    manifest = Path("data/manifest.parquet")
    if not manifest.is_file() or not (WHISPER_DIR / "model.bin").is_file():
        sys.exit("benchmark needs the pipeline's outputs: run `make run` (or `dvc pull`) first")
    rows = pd.read_parquet(manifest).query("corpus == 'fsdd'").sort_values("split", key=lambda s: s != "test")
    rows = rows.head(clips) if clips else rows
    mfcc, whisper = load(FeaturesParams).model_copy(update={"frontend": "mfcc"}), load(WhisperFeaturesParams)
    with tempfile.TemporaryDirectory() as tmp:
        chosen = Path(tmp) / "manifest.parquet"
        rows.to_parquet(chosen)
        mfcc_seconds = fastest(
            rounds,
            lambda: featurise(
                chosen, None, Path(tmp) / "mfcc", FeatureParams.of(mfcc), mfcc.rows_per_file, "local", 0, None
            ),
        )
        local, dask = (whisper.model_copy(update={"engine": engine}) for engine in ("local", "dask"))
        whisper_seconds = fastest(rounds, lambda: whisper_featurise(chosen, WHISPER_DIR, Path(tmp) / "w", local))
        dask_seconds = fastest(rounds, lambda: whisper_featurise(chosen, WHISPER_DIR, Path(tmp) / "w", dask))
    print(f"features of {len(rows)} FSDD clips, each stage's code on {cores()} cores, fastest of {rounds}")
    print(f"  mfcc ({len(FeatureParams.of(mfcc).speeds)} views)  {len(rows) / mfcc_seconds:9.1f} clips/s")
    print(f"  whisper ({whisper.window:g} s window) {len(rows) / whisper_seconds:9.1f} clips/s")
    print(f"  whisper on Dask (a LocalCluster) {len(rows) / dask_seconds:9.1f} clips/s")
    print(f"  MFCC / Whisper: {whisper_seconds / mfcc_seconds:.1f}x")
    print(f"  Whisper on Dask / local: {whisper_seconds / dask_seconds:.2f}x")
    clip = rows["path"].iloc[0]
    print(f"cold `digits predict --frontend F one.wav`, median of {COLD_RUNS}")
    for frontend in ("mfcc", "whisper"):
        print(f"  {frontend:18}{cold_seconds(frontend, clip):9.2f} s")


if __name__ == "__main__":
    typer.run(main)
