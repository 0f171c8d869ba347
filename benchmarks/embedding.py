"""Benchmark of the speech_embedding front end beside MFCC, every figure measured side by side in one run.

    python -m benchmarks.embedding [--clips 600]

1. Features: clips/s of `extract_views` (every test-time view, as the features stage computes them) on the same
   FSDD clips with params.yaml's `features` and with `frontend: speech_embedding`, one core each (BLAS and
   ONNX Runtime on one thread, as in each of the stage's worker processes); the ratio MFCC / embedding.
2. Cold predict: a fresh `digits predict --model DIR one.wav` process, median of 5, for the MFCC model in
   models/ and for an embedding model: params.yaml's `head`, trained here for a few epochs on those clips and
   exported to ONNX, its front end beside it (the time does not depend on how well it was trained).

The front end's models come from models/frontend when it holds them, else they are obtained (from the package
index, as stage `frontend` does) into a temporary folder.
"""

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from threadpoolctl import threadpool_limits

from benchmarks.scale import sized
from digits.audio import read_clips
from digits.features import FeatureParams, extract_views
from digits.params import FeaturesParams, FrontendParams, ModelParams, TrainParams, load
from digits.pretrained import obtain

DIGITS = str(Path(sys.executable).parent / "digits")
COLD_RUNS = sized(5, 1)
EPOCHS = sized(3, 1)


def features_per_second(
    clips: list[tuple[np.ndarray, int]], p: FeatureParams, frontend: Path | None = None
) -> tuple[float, np.ndarray]:
    """(clips/s of `extract_views` on `clips` with `p` on one core (a pretrained front end's model from `frontend`),
    after one warm-up clip; the matrices of view 0)."""
    with threadpool_limits(1):
        extract_views(clips[:1], p, frontend, threads=1)
        start = time.perf_counter()
        matrices, _ = extract_views(clips, p, frontend, threads=1)
    return len(clips) / (time.perf_counter() - start), matrices[:, 0]


def cold_seconds(model_dir: Path, clip: str) -> float:
    """Median wall time of a fresh `digits predict --model model_dir clip` process."""
    times = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        subprocess.run(
            [DIGITS, "predict", "--frontend", "mfcc", "--model", str(model_dir), clip], check=True, capture_output=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def embedding_model(x: np.ndarray, y: np.ndarray, p: FeatureParams, frontend: Path, dest: Path) -> None:
    """Train params.yaml's `head` on `(x, y)` for a few epochs and write it, exported, to the model folder `dest`
    with its front end beside it."""
    from digits.export import export_checked
    from digits.runtime import FRONTEND_DIR, KerasModel
    from digits.training import fit

    model_params = load(ModelParams).model_copy(update={"kind": "head"})
    schedule = load(TrainParams).model_copy(update={"epochs": EPOCHS})
    net, _ = fit(model_params, schedule, x, y, spec_augment=False)
    meta = {"kind": "head", "input": p.matrix, "feature_params": p.to_dict(), "labels": list(range(10))}
    export_checked(KerasModel(net, meta), meta, x, dest / "model.onnx")
    shutil.copytree(frontend, dest / FRONTEND_DIR)


def main(clips: Annotated[int, typer.Option(help="FSDD clips to featurise (train split)")] = 600) -> None:
    manifest = Path("data/manifest.parquet")
    if not manifest.is_file() or not Path("models/model.onnx").is_file():
        sys.exit("benchmark needs the pipeline's outputs: run `make run` (or `dvc pull`) first")
    rows = pd.read_parquet(manifest).query("corpus == 'fsdd' and split == 'train'").head(clips)
    features = load(FeaturesParams)
    mfcc = FeatureParams.of(features.model_copy(update={"frontend": "mfcc"}))  # whichever params.yaml chooses
    audio = [(y, mfcc.sample_rate) for y in read_clips(rows["path"], mfcc.sample_rate)]
    with tempfile.TemporaryDirectory() as work:
        frontend = Path("models/frontend")
        if not (frontend / "embedding_model.onnx").is_file():
            pinned = load(FrontendParams)
            frontend = Path(work) / "frontend"
            print(obtain(pinned.package, pinned.sha256, pinned.opset, frontend))
        embedded = FeatureParams.of(features.model_copy(update={"frontend": "speech_embedding"}))
        speed = {"mfcc": features_per_second(audio, mfcc)[0]}
        speed["speech_embedding"], x = features_per_second(audio, embedded, frontend)
        print(f"features of {len(audio)} FSDD clips, {len(mfcc.speeds)} views each, one core")
        for name, value in speed.items():
            print(f"  {name:18}{value:9.1f} clips/s")
        print(f"  MFCC / speech_embedding: {speed['mfcc'] / speed['speech_embedding']:.1f}x")
        model_dir = Path(work) / "embedding-model"
        embedding_model(x, rows["label"].to_numpy(), embedded, frontend, model_dir)
        clip = rows["path"].iloc[0]
        cold = {"mfcc (models/)": cold_seconds(Path("models"), clip), "speech_embedding": cold_seconds(model_dir, clip)}
    print(f"cold `digits predict one.wav` (ONNX), median of {COLD_RUNS}")
    for name, seconds in cold.items():
        print(f"  {name:18}{seconds:9.2f} s")


if __name__ == "__main__":
    typer.run(main)
