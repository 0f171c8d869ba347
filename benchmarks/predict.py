"""Benchmark of `digits predict`, every figure measured side by side in one run on the same clips.

1. Cold CLI: wall time of `digits predict one.wav` in a new process, Keras vs the ONNX export.
2. Warm single clip: read + features + inference of one clip at a time, in a loaded process.
3. Batch: read + features of 300 clips and one batched inference, as clips per second.
4. Memory: peak RSS of `digits predict` on a 10 s clip and on a 1 GB WAV whose header claims 17 hours
   (refused from its header, never read), as a ratio.

Needs a trained and exported model in models/ (`make run`, or `dvc pull`) and the FSDD clips of
data/manifest.parquet's test split.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from benchmarks.scale import sized
from digits.audio import CANONICAL_HEADER
from digits.params import PredictParams, load
from digits.predict import load as load_audio
from digits.predict import model_input
from digits.recognise import recognise
from digits.runtime import open_model

DIGITS = str(Path(sys.executable).parent / "digits")
COLD_RUNS = sized(5, 1)
CLIPS = sized(300, 10)  # test-split clips
SECONDS = load(PredictParams).min_seconds, load(PredictParams).max_seconds
# The peak RSS of one child process (`digits predict ...`), in KiB, printed by a fresh Python.
PEAK_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def cold_seconds(runtime: str, clip: str) -> float:
    """Median wall time of a fresh `digits predict --runtime RUNTIME clip` process."""
    times = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        subprocess.run(
            [DIGITS, "predict", "--frontend", "mfcc", "--runtime", runtime, clip], check=True, capture_output=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def warm_latency_ms(runtime: str, clips: list[str]) -> float:
    """Median milliseconds to read, featurise and recognise one clip, the model already loaded."""
    model = open_model(Path("models"), runtime)
    recognise(model, model_input(model, *load_audio(clips[0], *SECONDS))[None])  # first call warms up the runtime
    times = []
    for clip in clips:
        start = time.perf_counter()
        recognise(model, model_input(model, *load_audio(clip, *SECONDS))[None])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def batch_clips_per_second(runtime: str, clips: list[str]) -> float:
    """Clips per second to read and featurise all `clips` and recognise them in one batch."""
    model = open_model(Path("models"), runtime)
    recognise(model, model_input(model, *load_audio(clips[0], *SECONDS))[None])
    start = time.perf_counter()
    recognise(model, np.stack([model_input(model, *load_audio(clip, *SECONDS)) for clip in clips]))
    return len(clips) / (time.perf_counter() - start)


def peak_rss_mb(path: Path) -> float:
    """Peak resident memory, MB, of `digits predict --runtime onnx path` in its own process."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, DIGITS, "predict", "--frontend", "mfcc", "--runtime", "onnx", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out) / 1024


def memory_ratio(clip: str, work: Path) -> tuple[float, float]:
    """Peak RSS (MB) of `digits predict` on `clip` looped to 9.9 s and on a sparse 1 GB WAV with a valid header."""
    y, sr = sf.read(clip, dtype="float32")
    long = work / "ten_seconds.wav"
    sf.write(long, np.tile(y, -(-int(9.9 * sr) // len(y)))[: int(9.9 * sr)], sr, "PCM_16")
    huge = work / "one_gigabyte.wav"
    with open(huge, "wb") as file:
        file.write(
            CANONICAL_HEADER.pack(
                b"RIFF", 10**9 - 8, b"WAVE", b"fmt ", 16, 1, 1, sr, 2 * sr, 2, 16, b"data", 10**9 - 44
            )
        )
        file.truncate(10**9)  # sparse: no disk used
    return peak_rss_mb(long), peak_rss_mb(huge)


def main() -> None:
    manifest = Path("data/manifest.parquet")
    if not manifest.is_file() or not Path("models/model.onnx").is_file():
        sys.exit("benchmark needs a trained, exported model: run `make run` (or `dvc pull`) first")
    clips = pd.read_parquet(manifest).query("split == 'test'")["path"].head(CLIPS).tolist()
    print(f"digits predict, {len(clips)} test-split clips, median of {COLD_RUNS} cold runs")
    cold = {runtime: cold_seconds(runtime, clips[0]) for runtime in ("keras", "onnx")}
    warm = {runtime: warm_latency_ms(runtime, clips) for runtime in ("keras", "onnx")}
    batch = {runtime: batch_clips_per_second(runtime, clips) for runtime in ("keras", "onnx")}
    rows = [
        ("cold `digits predict one.wav`, s", cold["keras"], cold["onnx"], cold["keras"] / cold["onnx"]),
        ("warm single clip end to end, ms", warm["keras"], warm["onnx"], warm["keras"] / warm["onnx"]),
        (f"batch of {len(clips)} clips, clips/s", batch["keras"], batch["onnx"], batch["onnx"] / batch["keras"]),
    ]
    print(f"{'':36}{'keras':>10}{'onnx':>10}{'onnx speed-up':>15}")
    for name, keras, onnx, speedup in rows:
        print(f"{name:36}{keras:10.2f}{onnx:10.2f}{speedup:14.1f}x")
    with tempfile.TemporaryDirectory() as work:
        ten, huge = memory_ratio(clips[0], Path(work))
    print(f"peak RSS of digits predict: 10 s clip {ten:.0f} MB, 1 GB file {huge:.0f} MB ({huge / ten:.2f}x)")


if __name__ == "__main__":
    main()
