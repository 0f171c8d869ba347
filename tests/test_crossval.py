"""Leave-one-speaker-out bookkeeping: which speakers are held out, what trains, how errors are summarised."""

import numpy as np
import pandas as pd
import pytest

from digits import DigitsError
from digits.scoring import held_out_speakers, top_confusions
from digits.training import training_set


def keys_of(speakers: list[str], training_only: list[bool] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": [f"{i}.wav" for i in range(len(speakers))],
            "speaker": speakers,
            "label": range(len(speakers)),
            "training_only": training_only or [False] * len(speakers),
        }
    )


def test_every_speaker_is_held_out_once_or_the_chosen_ones() -> None:
    keys = keys_of(["b", "a", "c", "a"])
    assert held_out_speakers(keys, "all") == ["a", "b", "c"]
    assert held_out_speakers(keys, ["c"]) == ["c"]
    with pytest.raises(DigitsError, match="not in the data: zed"):
        held_out_speakers(keys, ["zed"])
    with pytest.raises(DigitsError, match="at least 2 speakers"):
        held_out_speakers(keys_of(["a", "a"]), "all")


def test_a_training_only_voice_is_never_held_out() -> None:
    keys = keys_of(["a", "tts", "b"], [False, True, False])
    assert held_out_speakers(keys, "all") == ["a", "b"]
    with pytest.raises(DigitsError, match="not in the data: tts"):
        held_out_speakers(keys, ["tts"])


def test_top_confusions_counts_only_errors_most_frequent_first() -> None:
    actual = np.array([1, 1, 1, 7, 7, 3, 3])
    predicted = np.array([7, 7, 1, 1, 7, 8, 3])
    assert top_confusions(actual, predicted, top=2) == {"1->7": 2, "7->1": 1}
    assert top_confusions(actual, actual) == {}


def test_training_set_takes_only_the_augmented_copies_of_training_clips() -> None:
    keys = keys_of(["a", "a", "b"])
    x = np.arange(3, dtype=np.float32)[:, None]
    copy_keys = pd.DataFrame(
        {"path": ["0.wav", "2.wav", "0.wav"], "label": [0, 2, 0], "copy": [1, 1, 2], "noise_speaker": ["", "", "a"]}
    )
    copy_x = np.array([[10.0], [12.0], [20.0]], np.float32)
    rows = (keys["speaker"] == "a").to_numpy()
    x_train, y_train = training_set(keys, x, rows, (copy_keys, copy_x))
    assert x_train.ravel().tolist() == [0, 1, 10, 20] and y_train.tolist() == [0, 1, 0, 0]
    x_plain, _ = training_set(keys, x, rows, None)
    assert x_plain.ravel().tolist() == [0, 1]


def test_training_set_leaves_out_copies_with_a_held_out_voice_in_their_babble() -> None:
    keys = keys_of(["a", "a", "b"])
    x = np.arange(3, dtype=np.float32)[:, None]
    copy_keys = pd.DataFrame(
        {"path": ["0.wav", "0.wav", "1.wav", "2.wav"], "label": [0, 0, 1, 2], "noise_speaker": ["b", "a", "", "a"]}
    )
    copy_x = np.array([[10.0], [11.0], [12.0], [13.0]], np.float32)
    x_train, _ = training_set(keys, x, (keys["speaker"] == "a").to_numpy(), (copy_keys, copy_x))
    assert x_train.ravel().tolist() == [0, 1, 11, 12]  # 10 carries b's voice, 13 is b's clip
    x_all, _ = training_set(keys, x, np.ones(3, bool), (copy_keys, copy_x))
    assert x_all.ravel().tolist() == [0, 1, 2, 10, 11, 12, 13]
