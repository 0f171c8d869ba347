"""Folders of recordings (corpora) as a manifest: every file becomes a manifest row or a reject row with its reason.

Manifest columns: path, corpus, training_only, sha256, label, speaker, take, sample_rate, channels, duration, split;
rejects: path, corpus, reason. Speakers are named `CORPUS/NAME`, so that two corpora never share one.
A corpus used for training only (`use: train`) is all in the train split: never validated, tested or
held out. A `corpus.json` at a corpus's root is its card (what made it), copied into the report.
"""

import json
import os
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from digits import DigitsError
from digits.audio import AUDIO_EXTENSIONS, AudioError, decode, open_regular, sha256_of
from digits.layouts import CARD, parse
from digits.params import IngestParams, SourceParams
from digits.splits import assign_splits

MANIFEST_COLUMNS = [
    "path",
    "corpus",
    "training_only",
    "sha256",
    "label",
    "speaker",
    "take",
    "sample_rate",
    "channels",
    "duration",
]


def list_files(root: Path) -> list[Path]:
    """Every file or link under `root` but its card, sorted; directory links are not followed (no loops)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found += [Path(folder) / name for name in files]
        found += [Path(folder) / name for name in dirs if (Path(folder) / name).is_symlink()]
    return sorted(path for path in found if path != root / CARD)


def read_card(root: Path) -> dict | None:
    """The corpus card at `root` (`corpus.json`), or None."""
    card = root / CARD
    try:
        return json.loads(card.read_text()) if card.is_file() else None
    except (OSError, ValueError) as err:
        raise DigitsError(f"{card}: not a readable JSON corpus card ({err})") from None


def inspect(path: Path, relpath: str, layout: str, seconds: tuple[float, float]) -> dict | str:
    """Manifest fields of one file, or the reason it is refused; `seconds`: (shortest, longest) accepted.

    Whatever goes wrong with the file (even a `MemoryError`) is its reason, never the stage's end.
    """
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        return f"not an audio file name (expected {', '.join(sorted(AUDIO_EXTENSIONS))})"
    label = parse(relpath, layout)
    if label is None:
        return f"unlabelled: the path fits no '{layout}' layout"
    try:
        with open_regular(path) as file:
            y, sr = decode(file, *seconds)
            digest = sha256_of(file)
    except AudioError as err:
        return str(err)
    except Exception as err:  # one bad file must never cost the others, even a MemoryError
        return f"unreadable: {type(err).__name__}: {err}"
    return {
        "sha256": digest,
        "label": label.digit,
        "speaker": label.speaker,
        "take": label.take,
        "sample_rate": sr,
        "channels": 1 if y.ndim == 1 else y.shape[1],
        "duration": len(y) / sr,
    }


def scan(
    sources: dict[str, SourceParams], seconds: tuple[float, float]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """(accepted, rejected, files found per corpus) in the folders of `sources` (those not `off`), in order;
    byte-identical copies are rejected, across corpora too."""
    rows, rejects, first_of, found = [], [], {}, {}
    for corpus, source in sources.items():
        if source.use == "off":
            continue
        root = Path(source.data_dir)
        if not root.is_dir():
            raise DigitsError(f"data directory of corpus {corpus} not found: {root}")
        files = list_files(root)
        found[corpus] = len(files)
        for path in tqdm(files, desc=f"ingest {corpus}", unit="file", mininterval=1):
            result = inspect(path, path.relative_to(root).as_posix(), source.layout, seconds)
            if isinstance(result, str):
                rejects.append({"path": str(path), "corpus": corpus, "reason": result})
            elif result["sha256"] in first_of:
                reason = f"duplicate of {first_of[result['sha256']]}"
                rejects.append({"path": str(path), "corpus": corpus, "reason": reason})
            else:
                first_of[result["sha256"]] = str(path)
                speaker = None if result["speaker"] is None else f"{corpus}/{result['speaker']}"
                training_only = source.use == "train"
                rows.append(
                    {"path": str(path), "corpus": corpus, "training_only": training_only, **result, "speaker": speaker}
                )
    accepted = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    accepted["take"] = accepted["take"].astype("Int64")
    return accepted, pd.DataFrame(rejects, columns=["path", "corpus", "reason"]), found


def counts(manifest: pd.DataFrame, rejects: pd.DataFrame, found: int) -> dict:
    """Files found, accepted and rejected (by reason), splits, speakers and labels; found must add up."""
    if found != len(manifest) + len(rejects):
        raise DigitsError(f"{found} files found but {len(manifest)} accepted + {len(rejects)} rejected")
    kinds = "duplicate of|unreadable|cannot open|not a regular file|too large|not audio|too short|too long|silent"
    reasons = rejects["reason"].str.replace(rf"^({kinds}).*", r"\1", regex=True)
    return {
        "found": found,
        "accepted": len(manifest),
        "rejected": len(rejects),
        "rejected_by_reason": reasons.value_counts().sort_index().to_dict(),
        "splits": manifest["split"].value_counts().sort_index().to_dict(),
        "speakers": int(manifest["speaker"].nunique()),
        "labels": int(manifest["label"].nunique()),
    }


def report(manifest: pd.DataFrame, rejects: pd.DataFrame, found: dict[str, int], sources: dict) -> dict:
    """`metrics/data_report.json`: the counts over all corpora, then per corpus with its use and card."""
    summary = counts(manifest, rejects, sum(found.values()))
    summary["corpora"] = {}
    for corpus, n in found.items():
        mine = manifest[manifest["corpus"] == corpus]
        entry = {"use": sources[corpus].use, **counts(mine, rejects[rejects["corpus"] == corpus], n)}
        card = read_card(Path(sources[corpus].data_dir))
        if card and "engines" in card:
            entry["engines"] = card["engines"]
        summary["corpora"][corpus] = entry
    return summary


def with_splits(manifest: pd.DataFrame, p: IngestParams) -> pd.DataFrame:
    """`manifest` with its `split` column (train, val or test): assigned by `p.split`, seeded, over the corpora
    in `use: all`; every clip of a training-only corpus is in train."""
    scored = ~manifest["training_only"].to_numpy(bool)
    clips = manifest[scored]
    try:
        split = assign_splits(
            p.split,
            clips["label"].to_numpy(),
            clips["speaker"].to_numpy(),
            clips["take"].astype("float64").to_numpy(),
            test_size=p.test_size,
            val_size=p.val_size,
            test_speakers=p.test_speakers,
            seed=p.seed,
        )
    except ValueError as err:
        raise DigitsError(f"cannot split the manifest: {err}") from err
    manifest = manifest.copy()
    manifest["split"] = "train"
    manifest.loc[scored, "split"] = split
    manifest["split"] = manifest["split"].astype(str)
    return manifest
