"""Digit strings for the folds' `--sequence` figures: built from one speaker's clips, split and read whole."""

import numpy as np

from digits.params import PredictParams
from digits.segment import PauseParams
from digits.strings import digit_strings, read_strings
from tests.conftest import params_of

PAUSES = PauseParams(**params_of(PredictParams).sequence.model_dump())
SR = 8000


def tone(digit: int) -> np.ndarray:
    """A 0.3 s "digit": a sine at 300 + 100 * digit Hz."""
    t = np.arange(int(0.3 * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * (300 + 100 * digit) * t)).astype(np.float32)


def by_pitch(parts: list[np.ndarray], deaf_to: int | None = None) -> np.ndarray:
    """`(n, 10)` scores of tones: their pitch says the digit (`deaf_to` is always heard as 0)."""
    scores = np.zeros((len(parts), 10))
    for i, y in enumerate(parts):
        pitch = np.argmax(np.abs(np.fft.rfft(y))) * SR / len(y)
        digit = int(np.clip(round((pitch - 300) / 100), 0, 9))
        scores[i, 0 if digit == deaf_to else digit] = 1
    return scores


CLIPS = [tone(d) for d in range(10)] * 3
LABELS = np.tile(np.arange(10), 3)


def test_a_string_is_its_clips_in_order_with_pauses() -> None:
    strings = digit_strings(CLIPS, LABELS, SR, 20, 5, (0.3, 0.6), np.random.default_rng(0))
    assert len(strings) == 20
    for y, digits in strings:
        assert len(digits) == 5
        silence = len(y) - 5 * len(CLIPS[0]) - 2 * int(0.3 * SR)
        assert 4 * 0.3 * SR <= silence <= 4 * 0.6 * SR + 4
        assert (by_pitch([y[int(0.3 * SR) : int(0.3 * SR) + len(CLIPS[0])]]).argmax(axis=1) == digits[:1]).all()
    again = digit_strings(CLIPS, LABELS, SR, 20, 5, (0.3, 0.6), np.random.default_rng(0))
    assert all((a[0] == b[0]).all() for a, b in zip(strings, again, strict=True))  # seeded


def test_strings_are_read_whole_and_a_wrong_or_merged_digit_costs_the_string() -> None:
    rng = np.random.default_rng(1)
    strings = digit_strings(CLIPS, LABELS, SR, 30, 5, (0.3, 0.6), rng)
    read = read_strings(by_pitch, strings, SR, PAUSES)
    assert read == {"strings": 30, "string_accuracy": 1.0, "miscounted": 0.0, "digit_accuracy": 1.0}
    without_seven = np.mean([7 not in digits for _, digits in strings])
    deaf = read_strings(lambda parts: by_pitch(parts, deaf_to=7), strings, SR, PAUSES)
    assert deaf["string_accuracy"] == round(without_seven, 6) < 1
    merged = digit_strings(CLIPS, LABELS, SR, 10, 5, (0.02, 0.05), rng)  # pauses under predict's min_pause
    assert read_strings(by_pitch, merged, SR, PAUSES)["miscounted"] == 1.0
