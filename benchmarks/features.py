"""Benchmark of the features stage, every figure measured side by side in one run on the same clips.

    python -m benchmarks.features run [--clips N] [--rounds 3] [--scale 10000,100000]

1. On the clips of data/manifest.parquet (FSDD after `make run`):
   (a) the seed's loop: `librosa.load` and `librosa.feature.mfcc` with librosa's defaults, per file,
       in a fresh process (first-call costs included);
   (b) a warm per-file librosa loop with the project's params (load, trim, MFCC; then the same
       normalisation, length policy and summary as the stage);
   (c) the features stage's code (`stages.features.run`, params.yaml's `features` section) in a
       fresh process.
   The three run in turn `--rounds` times; each one's fastest round counts (timeit's rule: the
   slower ones measure the machine's other work). Prints clips/s, the ratios c/a and c/b, the
   peak RSS of (c), and checks that (c)'s features equal (b)'s (exit status 1 if not).
2. Scale: the stage on synthetic FSDD-layout corpora of each `--scale` size (written once under
   `--corpus-dir`, see tests/corpus.py); prints the peak RSS of each and their ratio.
"""

import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import psutil
import typer

from digits.features import FeatureParams
from digits.frontends.mfcc import fixed_length, normalise, summary_vector
from digits.params import FeaturesParams, IngestParams, load

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
CORPUS_DIR = Path(tempfile.gettempdir()) / "digits-bench-corpus"
MATRIX_ATOL = 1e-3  # normalised MFCC, values of order 1
SUMMARY_RTOL = 1e-5  # of the largest summary value (raw MFCC means, of order 100)


def subcommand(*args: str) -> dict:
    """Run `python -m benchmarks.features ARGS...` in a fresh process; its JSON result."""
    out = subprocess.run([sys.executable, "-m", __spec__.name, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[-1])


@app.command(hidden=True)
def seed_loop(paths_file: Path) -> None:
    """(a): the seed's per-file loop over the paths listed in `paths_file`."""
    import librosa

    paths = paths_file.read_text().split()
    start = time.perf_counter()
    for path in paths:
        y, sr = librosa.load(path)
        librosa.feature.mfcc(y=y, sr=sr).mean(axis=1)
    print(json.dumps({"seconds": time.perf_counter() - start}))


class PeakMemory(threading.Thread):
    """Samples the RSS of this process plus its children (the stage's workers) until stopped; keeps the peaks.

    Pages a forked worker shares with its parent count in both: the sum is an upper bound.
    """

    def __init__(self, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.interval, self.stopped = interval, threading.Event()
        self.total = self.largest_worker = 0

    def run(self) -> None:
        me = psutil.Process()
        while not self.stopped.wait(self.interval):
            with contextlib.suppress(psutil.Error):
                workers = [child.memory_info().rss for child in me.children(recursive=True)]
                self.total = max(self.total, me.memory_info().rss + sum(workers))
                self.largest_worker = max([self.largest_worker, *workers])


@app.command(hidden=True)
def stage(manifest: Path, out_dir: Path, memory: bool = False) -> None:
    """(c): the features stage on `manifest`, into `out_dir`; its seconds, or with `--memory` its peak memory (MiB).

    (Sampling the memory of the workers costs CPU, so speed is measured in a run without it.)
    """
    from stages import features

    sampler = PeakMemory()
    if memory:
        sampler.start()
    start = time.perf_counter()
    features.run(load(FeaturesParams), manifest, Path("models/frontend"), out_dir)
    result = {"seconds": time.perf_counter() - start}
    if memory:
        sampler.stopped.set()
        sampler.join()
        result |= {"main_mib": main_peak_mib(), "total_mib": sampler.total / 2**20}
        result |= {"worker_mib": sampler.largest_worker / 2**20}
    print(json.dumps(result))


def main_peak_mib() -> float:
    """Peak RSS of this process since it started (VmHWM; unlike `ru_maxrss`, not inherited from the parent)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def librosa_features(paths: list[str], p: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """(b): matrices and summaries of `paths`, one file at a time, the spectral maths by librosa."""
    import librosa

    matrices, summaries = [], []
    for path in paths:
        y, sr = librosa.load(path, sr=p.sample_rate)
        speech, _ = librosa.effects.trim(y, top_db=p.trim_db, frame_length=p.n_fft, hop_length=p.hop_length)
        speech = speech if len(speech) >= p.n_fft else y  # the stage's rule for clips that are all "silence"
        s = p.settings
        m = librosa.feature.mfcc(
            y=speech, sr=sr, n_mfcc=s.n_mfcc, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=s.n_mels, fmin=s.fmin,
            fmax=s.fmax,
        )  # fmt: skip
        matrices.append(fixed_length(normalise(m), s))
        summaries.append(summary_vector(m, s.segments))
    return np.stack(matrices), np.stack(summaries)


def memory(result: dict) -> str:
    """The peak memory figures of a `stage` result."""
    return (
        f"main {result['main_mib']:.0f} MiB, main + workers {result['total_mib']:.0f} MiB "
        f"(largest worker {result['worker_mib']:.0f} MiB)"
    )


def compare(clips: pd.DataFrame, work: Path, rounds: int) -> bool:
    """Part 1: (a), (b), (c) on `clips`, each once per round, its fastest round kept; print the table;
    whether (c) equals (b)."""
    from digits.table import load_features

    p = FeatureParams.of(load(FeaturesParams))
    paths = clips["path"].tolist()
    (work / "paths.txt").write_text("\n".join(paths))
    clips.to_parquet(work / "manifest.parquet")

    librosa_features(paths[:1], p)  # warm: librosa's first call compiles and caches
    seconds: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    for _ in range(rounds):  # interleaved, so that a slow spell of the machine hits all three alike
        seconds["a"].append(subcommand("seed-loop", str(work / "paths.txt"))["seconds"])
        start = time.perf_counter()
        expected_matrix, expected_summary = librosa_features(paths, p)
        seconds["b"].append(time.perf_counter() - start)
        seconds["c"].append(subcommand("stage", str(work / "manifest.parquet"), str(work / "features"))["seconds"])
    staged = subcommand("stage", "--memory", str(work / "manifest.parquet"), str(work / "memory"))

    keys, matrix, summary, _ = load_features(work / "features")
    order = pd.Series(range(len(paths)), index=paths)[keys["path"]].to_numpy()
    matrix_error = float(np.abs(matrix - expected_matrix[order]).max())
    summary_error = float(np.abs(summary - expected_summary[order]).max() / np.abs(expected_summary).max())
    same = sorted(keys["path"]) == sorted(paths) and matrix_error <= MATRIX_ATOL and summary_error <= SUMMARY_RTOL

    rate = {name: len(paths) / min(times) for name, times in seconds.items()}
    folder = clips["path"].iloc[0].rsplit("/", 1)[0]
    print(f"features of {len(paths)} clips ({folder}/), one run, fastest of {rounds} rounds each")
    print(f"  (a) seed loop, librosa defaults, cold      {rate['a']:9.0f} clips/s")
    print(f"  (b) warm per-file librosa, project params  {rate['b']:9.0f} clips/s")
    print(f"  (c) features stage                         {rate['c']:9.0f} clips/s")
    print(f"  c/a {rate['c'] / rate['a']:.1f}x   c/b {rate['c'] / rate['b']:.1f}x")
    print(f"  peak RSS of (c): {memory(staged)}")
    print(
        f"  (c) vs (b): max |matrix diff| {matrix_error:.2e} (<= {MATRIX_ATOL:g}), max summary diff "
        f"{summary_error:.2e} of its largest value (<= {SUMMARY_RTOL:g}): {'EQUAL' if same else 'DIFFERENT'}"
    )
    return same


def corpus_manifest(clips: int, corpus_dir: Path) -> Path:
    """Manifest of a synthetic corpus of `clips` clips under `corpus_dir`, written (and ingested) once."""
    from stages import ingest
    from tests.corpus import main as write_corpus

    root = corpus_dir / f"{clips}"
    manifest = root / "manifest.parquet"
    if not manifest.is_file():
        write_corpus(root / "recordings", clips=clips, workers=2)
        corpus = {"data_dir": str(root / "recordings"), "layout": "fsdd", "use": "all"}
        changes = {"sources": {"bench": corpus}, "split": "random"}
        params = IngestParams.model_validate({**load(IngestParams).model_dump(), **changes})
        ingest.run(params, manifest, root / "rejects.parquet", root / "data_report.json")
    return manifest


def scale(sizes: list[int], corpus_dir: Path, work: Path) -> None:
    """Part 2: peak RSS of the stage on synthetic corpora of `sizes` clips."""
    results = {}
    for n in sizes:
        results[n] = subcommand("stage", "--memory", str(corpus_manifest(n, corpus_dir)), str(work / f"scale-{n}"))
        print(f"  {n:>7} synthetic clips: {n / results[n]['seconds']:6.0f} clips/s, peak RSS {memory(results[n])}")
    small, large = results[min(sizes)], results[max(sizes)]
    if len(results) > 1:
        print(
            f"  peak RSS {max(sizes)} / {min(sizes)} clips: main {large['main_mib'] / small['main_mib']:.2f}x, "
            f"main + workers {large['total_mib'] / small['total_mib']:.2f}x"
        )


@app.command()
def run(
    clips: Annotated[int, typer.Option(help="Clips of data/manifest.parquet to use (0: all).")] = 0,
    rounds: Annotated[int, typer.Option(help="Times (a), (b), (c) each run; the fastest counts.")] = 3,
    scale_sizes: Annotated[
        str, typer.Option("--scale", help="Synthetic corpus sizes, comma-separated ('': skip).")
    ] = "10000,100000",
    corpus_dir: Annotated[Path, typer.Option(help="Where the synthetic corpora are kept.")] = CORPUS_DIR,
) -> None:
    """Run the benchmark: (a), (b), (c) on the pipeline's clips, then the scale test."""
    manifest = Path("data/manifest.parquet")
    if not manifest.is_file():
        sys.exit("benchmark needs data/manifest.parquet: run `make run` (or `dvc repro ingest`) first")
    chosen = pd.read_parquet(manifest)
    chosen = chosen.head(clips) if clips else chosen
    with tempfile.TemporaryDirectory() as tmp:
        same = compare(chosen, Path(tmp), rounds)
        if scale_sizes:
            print("scale, the features stage in a fresh process per corpus")
            scale([int(n) for n in scale_sizes.split(",")], corpus_dir, Path(tmp))
    if not same:
        sys.exit("(c) and (b) features differ")


if __name__ == "__main__":
    app()
