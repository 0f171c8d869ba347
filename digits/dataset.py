"""A folder of recordings as a manifest: every file becomes a manifest row or a reject row with its reason.

Manifest columns: path, sha256, label, speaker, take, sample_rate, channels, duration, split;
rejects: path, reason.
"""

import hashlib
import os
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from digits import DigitsError
from digits.audio import AUDIO_EXTENSIONS, decode
from digits.layouts import parse
from digits.params import IngestParams
from digits.splits import assign_splits

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


def with_splits(manifest: pd.DataFrame, p: IngestParams) -> pd.DataFrame:
    """`manifest` with its `split` column (train, val or test) assigned by `p.split`, seeded."""
    try:
        split = assign_splits(
            p.split,
            manifest["label"].to_numpy(),
            manifest["speaker"].to_numpy(),
            manifest["take"].astype("float64").to_numpy(),
            test_size=p.test_size,
            val_size=p.val_size,
            test_speakers=p.test_speakers,
            seed=p.seed,
        )
    except ValueError as err:
        raise DigitsError(f"cannot split the manifest: {err}") from err
    manifest = manifest.copy()
    manifest["split"] = split
    manifest["split"] = manifest["split"].astype(str)
    return manifest
