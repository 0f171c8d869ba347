"""Hostile and non-digit inputs through `digits predict` and the `ingest` stage, one fresh process per input.

For each input of `tests/badfiles.make_hostile_corpus` (lying headers, a sparse 1 GB file, a FIFO, a device,
a socket, names with control characters) and a few sounds that are no digit (a tone, white noise, DC, silence),
prints the exit code, what was said about it, the wall time and the peak RSS of `digits predict FILE` and of
`python -m stages.ingest` on a folder holding that file among 20 good clips. Needs a trained model in models/
(`make run`).
"""

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import yaml

from benchmarks.scale import sized
from digits import escape
from tests.badfiles import make_hostile_corpus
from tests.corpus import synth_clip

DIGITS = str(Path(sys.executable).parent / "digits")
# Run a command in a child and print its exit code, wall time and peak RSS (KiB) as JSON, then its output.
MEASURED = (
    "import json, resource, subprocess, sys, time; start = time.perf_counter(); "
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors='replace'); "
    "print(json.dumps([done.returncode, time.perf_counter() - start, "
    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.stdout, done.stderr]))"
)


def measured(*command: str, cwd: Path | None = None) -> tuple[int, float, float, str, str]:
    """(exit code, seconds, peak RSS in MB, stdout, stderr) of `command` in a fresh process."""
    out = subprocess.run([sys.executable, "-c", MEASURED, *command], capture_output=True, text=True, cwd=cwd)
    code, seconds, kib, stdout, stderr = json.loads(out.stdout)
    return code, seconds, kib / 1024, stdout, stderr


def non_digits(root: Path) -> list[str]:
    """A tone, white noise, DC and silence, one second each at 8 kHz, as `0_NAME_0.wav` under `root`."""
    t = np.arange(8000) / 8000
    sounds = {
        "tone": 0.5 * np.sin(2 * np.pi * 440 * t),
        "noise": 0.1 * np.random.default_rng(0).standard_normal(8000),
        "dc": np.full(8000, 0.3),
        "silence": np.zeros(8000),
    }
    for name, y in sounds.items():
        sf.write(root / f"0_{name}_0.wav", y, 8000, "PCM_16")
    return [f"0_{name}_0.wav" for name in sounds]


def ingest_among_good(path: Path, work: Path) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak MB, what ingest said of `path`) of the ingest stage on a folder holding `path` and
    20 good clips (two speakers' digits, so that the folder can be split)."""
    folder = work / "corpus"
    folder.mkdir()
    for digit in range(10):
        for speaker in (1, 2):
            sf.write(folder / f"{digit}_s{speaker}_9.wav", synth_clip(digit, speaker, 9), 8000, "PCM_16")
    (folder / path.name).symlink_to(path)
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["ingest"]["sources"] = {"mine": {"data_dir": str(folder), "layout": "fsdd", "use": "all"}}
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    outs = [str(work / name) for name in ("manifest.parquet", "rejects.parquet", "report.json")]
    code, seconds, mb, _, stderr = measured(
        sys.executable, "-m", "stages.ingest", "--params", str(work / "params.yaml"), *outs
    )
    rejects = work / "rejects.parquet"
    if rejects.is_file() and len(reasons := pd.read_parquet(rejects)["reason"]):
        said = f"rejected: {reasons.iloc[0]}"
    elif code == 0:
        said = "accepted (the detector stage lists it if it refuses it)"
    else:
        said = (stderr.strip().splitlines() or ["(nothing)"])[-1]
    return code, seconds, mb, said


def main() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        root = Path(tmp) / "inputs"
        names = [*make_hostile_corpus(root), *non_digits(root)][: sized(None, 4)]
        print("| input | predict: exit, said | s | MB | ingest: exit, said | s | MB |")
        print("|---|---|---|---|---|---|---|")
        for number, name in enumerate(names):
            path = root / name
            code, seconds, mb, stdout, stderr = measured(DIGITS, "predict", str(path))
            said = (stdout.strip() or stderr.strip()).split("\t", 1)[-1].split(": ", 1)[-1]
            work = Path(tmp) / f"ingest{number}"
            work.mkdir()
            i_code, i_seconds, i_mb, i_said = ingest_among_good(path, work)
            cells = [escape(name), f"{code}, {escape(said)}", f"{seconds:.2f}", f"{mb:.0f}"]
            cells += [f"{i_code}, {escape(i_said)}", f"{i_seconds:.2f}", f"{i_mb:.0f}"]
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
