"""Train / validation / test assignment of clips, seeded."""

import numpy as np
from sklearn.model_selection import train_test_split

SPLITS = ("random", "fsdd", "speaker")
FSDD_TEST_TAKES = 5  # the dataset's official rule: takes 0-4 are test


def _stratify(labels: np.ndarray, fraction: float) -> np.ndarray | None:
    """Labels to stratify on, or None when the data is too small for a stratified split."""
    _, counts = np.unique(labels, return_counts=True)
    held = int(np.ceil(fraction * len(labels)))
    fits = counts.min() >= 2 and min(held, len(labels) - held) >= len(counts)
    return labels if fits else None


def hold_out(idx: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split positions `idx` into (kept, held out), stratified by `labels[idx]` when possible."""
    if fraction <= 0:
        return idx, idx[:0]
    kept, held = train_test_split(idx, test_size=fraction, random_state=seed, stratify=_stratify(labels[idx], fraction))
    return np.sort(kept), np.sort(held)


def test_mask(
    method: str,
    labels: np.ndarray,
    speakers: np.ndarray,
    takes: np.ndarray,
    test_size: float,
    test_speakers: list[str],
    seed: int,
) -> np.ndarray:
    """Boolean mask of the test clips for split `method` (see `SPLITS`)."""
    if method == "random":
        _, test = hold_out(np.arange(len(labels)), labels, test_size, seed)
        mask = np.zeros(len(labels), bool)
        mask[test] = True
        return mask
    if method == "fsdd":
        takes = np.asarray(takes, dtype=float)
        if np.isnan(takes).any():
            raise ValueError("split 'fsdd' needs a take number for every clip (FSDD or AudioMNIST names)")
        return takes < FSDD_TEST_TAKES
    if method == "speaker":
        unknown = set(test_speakers) - set(speakers)
        if unknown:
            raise ValueError(f"test speakers not in the dataset: {', '.join(sorted(unknown))}")
        return np.isin(speakers, list(test_speakers))
    raise ValueError(f"unknown split {method!r}; choose one of {', '.join(SPLITS)}")


def assign_splits(
    method: str,
    labels: np.ndarray,
    speakers: np.ndarray,
    takes: np.ndarray,
    test_size: float = 0.2,
    val_size: float = 0.1,
    test_speakers: list[str] = (),
    seed: int = 0,
) -> np.ndarray:
    """`"train"`, `"val"` or `"test"` for each clip; validation is a stratified share of train."""
    labels = np.asarray(labels)
    test = test_mask(method, labels, np.asarray(speakers, dtype=object), takes, test_size, test_speakers, seed)
    split = np.where(test, "test", "train").astype(object)
    _, val = hold_out(np.flatnonzero(~test), labels, val_size, seed)
    split[val] = "val"
    return split
