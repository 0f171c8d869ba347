"""Benchmark of the two stages that grow with more voices, each side by side in one run on the same data.

1. augment: perturbed copies per second, one process (the old serial loop) vs every core, with the
   pitch shift by phase vocoder (the default) and by resampling (`augment.pitch_shift: resample`).
2. training: examples per second of the training recipe's `fit`, batch 64 with XLA (Keras' default
   `jit_compile="auto"`, the old recipe) vs batch 64 and batch 128 without XLA (the recipe now); then,
   as `crossval` trains its folds, one training on TensorFlow's default threads (one per core: the old
   crossval) vs one training per core at once, each on one thread (`digits.folds`), all in new processes.

Needs data/manifest.parquet and data/features (`dvc repro features`, `make run` or `dvc pull`).
"""

import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from benchmarks.scale import sized
from digits.augmentation import augment
from digits.engines import cores
from digits.models import build
from digits.params import AugmentParams, ModelParams, TrainParams, load
from digits.table import feature_params
from digits.training import Batches, load_inputs, one_thread

CLIPS = sized(400, 20)  # manifest rows augmented (x augment.copies copies)
EXAMPLES = sized(12_800, 256)  # training examples per epoch


def augment_rate(manifest: Path, workers: int, p: AugmentParams) -> float:
    """Copies per second of `augment` on `manifest` with `workers` processes."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        augment(
            manifest,
            Path("models/frontend"),
            Path(out) / "augmented",
            feature_params(Path("data/features")),
            p,
            workers,
        )
        return p.copies * len(pd.read_parquet(manifest)) / (time.perf_counter() - start)


def training_rate(x: np.ndarray, y: np.ndarray, batch_size: int, jit_compile: bool | str) -> float:
    """Examples per second of two epochs of the recipe's model and batches (after one warm-up epoch)."""
    keras.utils.set_random_seed(0)
    model = build("cnn", x, load(ModelParams).builder)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit_compile)
    batches = Batches(x, y, batch_size, 0, load(TrainParams).spec_augment)
    model.fit(batches, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(batches, epochs=2, verbose=0)
    return 2 * len(x) / (time.perf_counter() - start)


def side_by_side(x: np.ndarray, y: np.ndarray, processes: int, threads: int) -> float:
    """Examples/s of `processes` trainings (batch 128, no XLA) at once in new processes, summed; each on one
    thread if `threads` is 1, else on TensorFlow's default (a thread per core)."""
    start = one_thread if threads == 1 else None
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn"), initializer=start) as pool:
        return sum(pool.map(training_rate, *zip(*[(x, y, 128, False)] * processes, strict=True)))


def main() -> None:
    clips = pd.read_parquet("data/manifest.parquet")
    p = load(AugmentParams)
    with tempfile.TemporaryDirectory() as work:
        manifest = Path(work) / "manifest.parquet"
        clips[~clips["training_only"]].sample(CLIPS, random_state=0).to_parquet(manifest)
        serial, parallel = augment_rate(manifest, 1, p), augment_rate(manifest, 0, p)
        resampled = augment_rate(manifest, 0, p.model_copy(update={"pitch_shift": "resample"}))
    print(f"augment, {CLIPS} clips x {p.copies} copies: one process {serial:.0f} copies/s, ", end="")
    print(f"{cores()} processes {parallel:.0f} copies/s ({parallel / serial:.1f}x), ", end="")
    print(f"{cores()} processes with pitch_shift: resample {resampled:.0f} copies/s ({resampled / serial:.1f}x)")

    keys, x, copies, _ = load_inputs("cnn", Path("data/features"), Path("data/augmented"))
    x_all = np.concatenate([x, copies[1]]) if copies else x
    y_all = np.concatenate([keys["label"], copies[0]["label"]]) if copies else keys["label"].to_numpy()
    rows = np.random.default_rng(0).permutation(len(x_all))[:EXAMPLES]
    old = training_rate(x_all[rows], y_all[rows], 64, "auto")
    print(f"training, {EXAMPLES} examples: batch 64 with XLA (old) {old:.0f} examples/s", flush=True)
    for batch_size in (64, 128):
        rate = training_rate(x_all[rows], y_all[rows], batch_size, False)
        print(f"training: batch {batch_size} without XLA {rate:.0f} examples/s ({rate / old:.2f}x)", flush=True)
    default = side_by_side(x_all[rows], y_all[rows], 1, 0)
    parallel = side_by_side(x_all[rows], y_all[rows], cores(), 1)
    print(
        f"crossval's training: one process on TensorFlow's default threads {default:.0f} examples/s, "
        f"{cores()} processes on one thread each {parallel:.0f} examples/s ({parallel / default:.2f}x)"
    )


if __name__ == "__main__":
    main()
