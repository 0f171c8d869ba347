"""Benchmark of `digits serve` on 127.0.0.1 with each front end (MFCC, Whisper), measured side by side in one run.

1. Cold start: from starting `digits serve` to its first answered `POST /api/predict`, against a cold
   `digits predict` of the same clip.
2. Load: CLIENTS concurrent clients send the test split's real clips for SECONDS each run: requests/s,
   p50/p99 latency, errors, wrong answers (against the server's own answer to each clip, asked once
   beforehand) and the server's RSS after a warm-up and after each run.
3. The same with 10 % malformed requests (not audio, empty, silence, NaN, too long, over the size
   limit): each must get a 4xx, and the rest must still be right.

Needs a trained and exported model in models/ (`make run`, or `dvc pull`) and data/manifest.parquet.
"""

import asyncio
import io
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import soundfile as sf

from benchmarks.scale import sized
from digits.params import ServeParams, load
from tests.server import DIGITS, serving

CLIENTS = 32
SECONDS = sized(20.0, 1.0)
WARM_UP = sized(5.0, 0.5)
COLD_RUNS = sized(3, 1)


def wav_bytes(y: np.ndarray, sr: int = 8000, subtype: str = "PCM_16") -> bytes:
    out = io.BytesIO()
    sf.write(out, y, sr, subtype=subtype, format="WAV")
    return out.getvalue()


def malformed(max_bytes: int) -> list[bytes]:
    """Requests that must each get a 4xx: not audio, empty, silence, NaN, too long, over the size limit."""
    nan = np.full(4000, 0.1, np.float32)
    nan[7] = np.nan
    return [
        b"not audio at all",
        b"",
        wav_bytes(np.zeros(8000, np.float32)),
        wav_bytes(nan, subtype="FLOAT"),
        wav_bytes(np.full(8000 * 12, 0.1, np.float32)),
        b"\0" * (max_bytes + 1),
    ]


def cold_start(clip: bytes, frontend: str) -> tuple[float, float]:
    """Median seconds (from starting the process) to the first answer: `digits serve` then POST, and
    `digits predict`, both with `frontend`."""
    served, predicted = [], []
    Path("/tmp/benchmark-clip.wav").write_bytes(clip)
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        with serving(Path.cwd(), "--frontend", frontend) as (url, _):
            assert httpx.post(f"{url}api/predict", content=clip, timeout=30).status_code == 200
            served.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(
            [DIGITS, "predict", "--frontend", frontend, "/tmp/benchmark-clip.wav"], check=True, capture_output=True
        )
        predicted.append(time.perf_counter() - start)
    return statistics.median(served), statistics.median(predicted)


async def load_run(
    url: str, clips: list[bytes], expected: list[int | None], bad: list[bytes], share: float, seconds: float
) -> dict:
    """CLIENTS clients posting for `seconds`: a `share` of the requests are `bad` (must get 4xx)."""
    rng = random.Random(0)
    latencies, failures, counts = [], [], {"ok": 0, "wrong": 0, "errors": 0, "refused_4xx": 0, "bad_not_4xx": 0}
    deadline = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            if rng.random() < share:
                body, want = rng.choice(bad), "4xx"
            else:
                i = rng.randrange(len(clips))
                body, want = clips[i], expected[i]
            start = time.perf_counter()
            try:
                response = await http.post(f"{url}api/predict", content=body)
            except httpx.HTTPError as err:
                counts["errors"] += 1
                failures.append(f"{type(err).__name__}: {err}")
                continue
            latencies.append(time.perf_counter() - start)
            if want == "4xx":
                counts["refused_4xx" if 400 <= response.status_code < 500 else "bad_not_4xx"] += 1
            elif response.status_code != 200:
                counts["errors"] += 1
                failures.append(f"{response.status_code}: {response.text[:200]}")
            else:
                counts["ok" if response.json().get("digit") == want else "wrong"] += 1

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    ms = sorted(1000 * t for t in latencies)
    return {
        **counts,
        "failures": failures[:3],
        "requests_per_s": len(ms) / seconds,
        "p50_ms": ms[len(ms) // 2],
        "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
    }


def main() -> None:
    manifest = pd.read_parquet("data/manifest.parquet")
    paths = manifest[manifest["split"] == "test"]["path"].tolist()
    clips = [Path(p).read_bytes() for p in paths]
    for frontend in ("mfcc", "whisper"):
        print(f"--frontend {frontend}")
        load_test(clips, frontend)


def load_test(clips: list[bytes], frontend: str) -> None:
    """Parts 1 to 3 with the recogniser of `frontend`."""
    served, predicted = cold_start(clips[0], frontend)
    print(
        f"cold start, to the first answer: digits serve {served:.2f} s, digits predict {predicted:.2f} s "
        f"({served / predicted:.2f}x)"
    )
    with serving(Path.cwd(), "--frontend", frontend) as (url, process):
        expected = [httpx.post(f"{url}api/predict", content=c, timeout=30).json().get("digit") for c in clips]
        bad = malformed(load(ServeParams).max_bytes)
        asyncio.run(load_run(url, clips, expected, bad, 0.1, WARM_UP))  # the worker threads and their arenas
        rss = [psutil.Process(process.pid).memory_info().rss / 2**20]
        print(
            f"{CLIENTS} clients for {SECONDS:g} s each run, {len(clips)} test-split clips, "
            f"after a {WARM_UP:g} s warm-up"
        )
        for share in (0.0, 0.1, 0.0):
            run = asyncio.run(load_run(url, clips, expected, bad, share, SECONDS))
            rss.append(psutil.Process(process.pid).memory_info().rss / 2**20)
            print(
                f"  {share:4.0%} malformed: {run['requests_per_s']:6.1f} requests/s, p50 {run['p50_ms']:.0f} ms, "
                f"p99 {run['p99_ms']:.0f} ms; right {run['ok']}, wrong {run['wrong']}, errors {run['errors']}, "
                f"malformed answered 4xx {run['refused_4xx']}, not 4xx {run['bad_not_4xx']}; "
                f"server RSS {rss[-2]:.0f} -> {rss[-1]:.0f} MiB"
            )
            for failure in run["failures"]:
                print(f"    error: {failure}")


if __name__ == "__main__":
    sys.exit(main())
