import numpy as np
import pytest

from digits.splits import FSDD_TEST_TAKES, assign_splits

LABELS = np.repeat(np.arange(10), 60)
SPEAKERS = np.tile(np.repeat(["ann", "bob", "cyd"], 20), 10).astype(object)
TAKES = np.tile(np.arange(20), 30).astype(float)


def split(method: str, **kwargs) -> np.ndarray:
    return assign_splits(method, LABELS, SPEAKERS, TAKES, **kwargs)


def test_random_split_is_stratified_and_sized() -> None:
    s = split("random", test_size=0.2, val_size=0.1, seed=1)
    for digit in range(10):
        assert (s[LABELS == digit] == "test").sum() == 12
    assert (s == "test").sum() == 120
    assert (s == "val").sum() == 48  # 10 % of the 480 non-test clips


def test_splits_are_seeded() -> None:
    assert (split("random", seed=3) == split("random", seed=3)).all()
    assert (split("random", seed=3) != split("random", seed=4)).any()


def test_fsdd_split_puts_takes_0_to_4_in_test() -> None:
    s = split("fsdd", val_size=0.1, seed=0)
    assert ((s == "test") == (TAKES < FSDD_TEST_TAKES)).all()
    assert set(s[TAKES >= FSDD_TEST_TAKES]) == {"train", "val"}


def test_speaker_split_holds_out_the_listed_speakers() -> None:
    s = split("speaker", test_speakers=["bob"], val_size=0.1, seed=0)
    assert ((s == "test") == (SPEAKERS == "bob")).all()
    assert (s[SPEAKERS != "bob"] == "val").sum() == 40


def test_split_errors_are_explained() -> None:
    with pytest.raises(ValueError, match="not in the dataset: zed"):
        split("speaker", test_speakers=["zed"])
    with pytest.raises(ValueError, match="needs a take number"):
        assign_splits("fsdd", LABELS, SPEAKERS, np.full(len(LABELS), np.nan))
    with pytest.raises(ValueError, match="unknown split"):
        split("kfold")
