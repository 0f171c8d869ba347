"""What `digits predict` answers voices it never heard: a refusal is a miss, and each voice's threshold is chosen
on the other voices' out-of-fold scores."""

import numpy as np
import pandas as pd
import pytest

from digits import DigitsError
from digits.fusion import LOG_PROBA
from digits.new_voices import answers, as_shipped


def recognised(voices: dict[str, int], right: bool = True) -> pd.DataFrame:
    """A crossval table of `voices` ({name: clips}), clean and in white noise, each clip read as its label (or
    as the next digit when not `right`)."""
    rows = []
    for voice, count in voices.items():
        for i in range(count):
            for condition in ("clean", "white"):
                log_proba = np.full(10, -10.0)
                log_proba[(i + (not right)) % 10] = 0.0
                rows.append({"path": f"{voice}_{i}.wav", "speaker": voice, "label": i % 10, "condition": condition,
                             **dict(zip(LOG_PROBA, log_proba, strict=True))})  # fmt: skip
    return pd.DataFrame(rows)


def held_out(voices: dict[str, float], count: int) -> pd.DataFrame:
    """The detector's out-of-fold scores of the first `count` clips of each voice ({name: their digit score})."""
    return pd.DataFrame([
        {"path": f"{voice}_{i}.wav", "speaker": voice, "label": i % 10, "digit_score": score}
        for voice, score in voices.items() for i in range(count)
    ])  # fmt: skip


def test_a_refusal_is_a_miss_like_a_wrong_digit() -> None:
    log_proba = np.log(np.eye(10)[[3, 3, 5]] * 0.9 + 0.01)
    found = answers(log_proba, np.array([3, 4, 5]), np.array([0.9, 0.9, 0.1]), threshold=0.5)
    assert found.tolist() == ["right", "wrong", "refused"]


def test_each_voice_is_refused_at_a_threshold_chosen_on_the_other_voices() -> None:
    """Voice a's digit scores are all low: a threshold chosen on its own scores would accept them (refusing none,
    as max_false_refusals 0 asks), one chosen on b and c refuses every clip of a. Only the clean rows that the
    detector scored count (the test split is not in its table)."""
    table = recognised({"a": 10, "b": 10, "c": 10})
    found = as_shipped(table, held_out({"a": 0.2, "b": 0.9, "c": 0.8}, count=8), max_false_refusals=0.0)
    assert found["voices"]["a"] == {"right": 0.0, "wrong": 0.0, "refused": 1.0, "clips": 8, "threshold": 0.8}
    assert found["voices"]["b"] == {"right": 1.0, "wrong": 0.0, "refused": 0.0, "clips": 8, "threshold": 0.2}
    assert found["mean"] == pytest.approx({"right": 2 / 3, "wrong": 0.0, "refused": 1 / 3}, abs=1e-6)
    wrong = as_shipped(recognised({"a": 10, "b": 10}, right=False), held_out({"a": 0.9, "b": 0.9}, 8), 0.0)
    assert wrong["mean"] == {"right": 0.0, "wrong": 1.0, "refused": 0.0}


def test_one_held_out_voice_is_refused_at_a_threshold_chosen_on_the_detectors_other_voices() -> None:
    """Crossval held out voice a alone (`crossval.speakers`): the detector scored b and c out of fold too, and
    a's threshold comes from them; with a alone in the detector's table there is nothing to choose on."""
    found = as_shipped(recognised({"a": 10}), held_out({"a": 0.2, "b": 0.9, "c": 0.8}, count=8), 0.0)
    assert list(found["voices"]) == ["a"] and found["voices"]["a"]["refused"] == 1.0
    with pytest.raises(DigitsError, match="scored no voice but a"):
        as_shipped(recognised({"a": 4}), held_out({"a": 0.9}, 4), 0.02)
    with pytest.raises(DigitsError, match="share no clip"):
        as_shipped(recognised({"a": 4}), held_out({"b": 0.9}, 4), 0.02)
