"""Benchmark of `digits predict`, every figure measured side by side in one run on the same clips.

1. Cold CLI: wall time of `digits predict one.wav` in a new process, Keras vs the ONNX export.
2. Warm single clip: read + features + inference of one clip at a time, in a loaded process.
3. Batch: read + features of 300 clips and one batched inference, as clips per second.

Needs a trained and exported model in models/ (`make run`, or `dvc pull`) and the FSDD clips of
data/manifest.parquet's test split.
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from digits.params import PredictParams, load
from digits.predict import load as load_audio
from digits.predict import model_input
from digits.recognise import recognise
from digits.runtime import open_model

DIGITS = str(Path(sys.executable).parent / "digits")
COLD_RUNS = 5
MIN_SECONDS = load(PredictParams).min_seconds


def cold_seconds(runtime: str, clip: str) -> float:
    """Median wall time of a fresh `digits predict --runtime RUNTIME clip` process."""
    times = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        subprocess.run([DIGITS, "predict", "--runtime", runtime, clip], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def warm_latency_ms(runtime: str, clips: list[str]) -> float:
    """Median milliseconds to read, featurise and recognise one clip, the model already loaded."""
    model = open_model(Path("models"), runtime)
    recognise(model, model_input(model, *load_audio(clips[0], MIN_SECONDS))[None])  # first call warms up the runtime
    times = []
    for clip in clips:
        start = time.perf_counter()
        recognise(model, model_input(model, *load_audio(clip, MIN_SECONDS))[None])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def batch_clips_per_second(runtime: str, clips: list[str]) -> float:
    """Clips per second to read and featurise all `clips` and recognise them in one batch."""
    model = open_model(Path("models"), runtime)
    recognise(model, model_input(model, *load_audio(clips[0], MIN_SECONDS))[None])
    start = time.perf_counter()
    recognise(model, np.stack([model_input(model, *load_audio(clip, MIN_SECONDS)) for clip in clips]))
    return len(clips) / (time.perf_counter() - start)


def main() -> None:
    manifest = Path("data/manifest.parquet")
    if not manifest.is_file() or not Path("models/model.onnx").is_file():
        sys.exit("benchmark needs a trained, exported model: run `make run` (or `dvc pull`) first")
    clips = pd.read_parquet(manifest).query("split == 'test'")["path"].head(300).tolist()
    print(f"digits predict, {len(clips)} test-split clips, median of {COLD_RUNS} cold runs")
    cold = {runtime: cold_seconds(runtime, clips[0]) for runtime in ("keras", "onnx")}
    warm = {runtime: warm_latency_ms(runtime, clips) for runtime in ("keras", "onnx")}
    batch = {runtime: batch_clips_per_second(runtime, clips) for runtime in ("keras", "onnx")}
    rows = [
        ("cold `digits predict one.wav`, s", cold["keras"], cold["onnx"], cold["keras"] / cold["onnx"]),
        ("warm single clip end to end, ms", warm["keras"], warm["onnx"], warm["keras"] / warm["onnx"]),
        ("batch of 300 clips, clips/s", batch["keras"], batch["onnx"], batch["onnx"] / batch["keras"]),
    ]
    print(f"{'':36}{'keras':>10}{'onnx':>10}{'onnx speed-up':>15}")
    for name, keras, onnx, speedup in rows:
        print(f"{name:36}{keras:10.2f}{onnx:10.2f}{speedup:14.1f}x")


if __name__ == "__main__":
    main()
