"""Whose voice makes a copy's babble: the clip's own speaker, or one other real speaker drawn per copy."""

import numpy as np
import pandas as pd

from digits.augmentation import babble_pools, babble_voice


def test_own_babble_is_the_speakers_voice_and_other_never_is() -> None:
    speakers = ["a", "b", "c"]
    assert babble_voice("b", speakers, "own", np.random.default_rng(0)) == "b"
    drawn = {babble_voice("b", speakers, "other", np.random.default_rng(seed)) for seed in range(40)}
    assert drawn == {"a", "c"}


def test_babble_is_made_of_train_split_clips_of_real_voices_only() -> None:
    clips = pd.DataFrame(
        {
            "speaker": ["a", "a", "a", "b", "b", "c", "tts"],
            "split": ["train", "test", "val", "test", "train", "test", "train"],
            "training_only": [False] * 6 + [True],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    assert babble_pools(clips) == {"a": [10], "b": [14]}


def test_other_babble_falls_back_to_the_speaker_when_alone() -> None:
    assert babble_voice("a", ["a"], "other", np.random.default_rng(0)) == "a"
