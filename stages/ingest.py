"""Stage `ingest`: every file under the data directory becomes a manifest row or a reject row.

Outputs `data/manifest.parquet` (path, sha256, label, speaker, take, sample_rate, channels,
duration, split), `data/rejects.parquet` (path, reason) and `metrics/data_report.json`.
"""

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from stages import DigitsError
from stages.audio import AUDIO_EXTENSIONS, decode
from stages.layouts import parse
from stages.splits import assign_splits

MANIFEST_COLUMNS = ["path", "sha256", "label", "speaker", "take", "sample_rate", "channels", "duration"]


def list_files(root: Path) -> list[Path]:
    """Every file or link under `root`, sorted; directory links are not followed (no loops)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found += [Path(folder) / name for name in files]
        found += [Path(folder) / name for name in dirs if (Path(folder) / name).is_symlink()]
    return sorted(found)


def inspect(path: Path, relpath: str, layout: str, seconds: tuple[float, float]) -> dict | str:
    """Manifest fields of one file, or the reason it is refused; `seconds`: (shortest, longest) accepted."""
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        return f"not an audio file name (expected {', '.join(sorted(AUDIO_EXTENSIONS))})"
    label = parse(relpath, layout)
    if label is None:
        return f"unlabelled: the path fits no '{layout}' layout"
    try:
        data = path.read_bytes()
    except OSError as err:
        return f"unreadable: {err.strerror or err}"
    try:
        y, sr = decode(data, *seconds)
    except ValueError as err:
        return str(err)
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "label": label.digit,
        "speaker": label.speaker,
        "take": label.take,
        "sample_rate": sr,
        "channels": 1 if y.ndim == 1 else y.shape[1],
        "duration": len(y) / sr,
    }


def scan(root: Path, layout: str, seconds: tuple[float, float]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(accepted, rejected, files found) under `root`; byte-identical copies are rejected."""
    rows, rejects, first_of = [], [], {}
    files = list_files(root)
    for path in tqdm(files, desc="ingest", unit="file", mininterval=1):
        relpath = path.relative_to(root).as_posix()
        result = inspect(path, relpath, layout, seconds)
        if isinstance(result, str):
            rejects.append({"path": str(path), "reason": result})
        elif result["sha256"] in first_of:
            rejects.append({"path": str(path), "reason": f"duplicate of {first_of[result['sha256']]}"})
        else:
            first_of[result["sha256"]] = str(path)
            rows.append({"path": str(path), **result})
    accepted = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    accepted["take"] = accepted["take"].astype("Int64")
    return accepted, pd.DataFrame(rejects, columns=["path", "reason"]), len(files)


def report(manifest: pd.DataFrame, rejects: pd.DataFrame, found: int) -> dict:
    """Counts for `metrics/data_report.json`; every file found must be accepted or rejected."""
    if found != len(manifest) + len(rejects):
        raise DigitsError(f"{found} files found but {len(manifest)} accepted + {len(rejects)} rejected")
    reasons = rejects["reason"].str.replace(
        r"^(duplicate of|unreadable|not audio|too short|too long|silent).*", r"\1", regex=True
    )
    return {
        "found": found,
        "accepted": len(manifest),
        "rejected": len(rejects),
        "rejected_by_reason": reasons.value_counts().sort_index().to_dict(),
        "splits": manifest["split"].value_counts().sort_index().to_dict(),
        "speakers": int(manifest["speaker"].nunique()),
        "labels": int(manifest["label"].nunique()),
    }


def run(params: dict, out_dir: Path = Path("data"), metrics_dir: Path = Path("metrics")) -> None:
    """Run the stage with the `ingest` params section."""
    root = Path(params["data_dir"])
    if not root.is_dir():
        raise DigitsError(f"data directory not found: {root}")
    manifest, rejects, found = scan(root, params.get("layout", "auto"), (params["min_seconds"], params["max_seconds"]))
    if manifest.empty:
        raise DigitsError(f"no usable recordings in {root}: {len(rejects)} files found, all rejected")
    try:
        manifest["split"] = assign_splits(
            params["split"],
            manifest["label"].to_numpy(),
            manifest["speaker"].to_numpy(),
            manifest["take"].astype("float64").to_numpy(),
            test_size=params["test_size"],
            val_size=params["val_size"],
            test_speakers=params.get("test_speakers", []),
            seed=params["seed"],
        )
    except ValueError as err:
        raise DigitsError(f"cannot split {root}: {err}") from err
    manifest["split"] = manifest["split"].astype(str)
    summary = report(manifest, rejects, found)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    manifest.to_parquet(out_dir / "manifest.parquet", index=False)
    rejects.to_parquet(out_dir / "rejects.parquet", index=False)
    (metrics_dir / "data_report.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{summary['accepted']} clips accepted, {summary['rejected']} rejected; splits {summary['splits']}")
    for row in rejects.head(10).itertuples():
        print(f"  rejected {row.path}: {row.reason}")
