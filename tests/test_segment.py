from dataclasses import replace

import numpy as np

from digits.params import PredictParams
from digits.segment import PauseParams, split_at_pauses
from tests.conftest import params_of
from tests.corpus import synth_clip

PAUSES = PauseParams(**params_of(PredictParams).sequence.model_dump())


def digit_string(digits: list[int], pause: float, noise: float, seed: int = 0) -> tuple[np.ndarray, list[tuple]]:
    """Synthetic takes of `digits` with `pause` seconds between them, in white noise; and where each is."""
    rng = np.random.default_rng(seed)
    parts, spans, at = [np.zeros(2000, np.float32)], [], 2000
    for i, digit in enumerate(digits):
        y = synth_clip(digit, 0, i)
        spans.append((at, at + len(y)))
        parts += [y, np.zeros(int(8000 * pause), np.float32)]
        at += len(y) + int(8000 * pause)
    y = np.concatenate(parts)
    return y + rng.normal(0, noise, len(y)).astype(np.float32), spans


def test_each_digit_is_one_segment_covering_it() -> None:
    y, spans = digit_string([4, 1, 5, 5, 0, 9], pause=0.3, noise=0.003)
    parts = split_at_pauses(y, 8000, PAUSES)
    assert len(parts) == len(spans)
    for (start, end), (clip_start, clip_end) in zip(parts, spans, strict=True):
        assert clip_start - 800 <= start and end <= clip_end + 800  # within the clip's own silence
        assert end - start >= 0.2 * 8000


def test_pauses_shorter_than_min_pause_do_not_split() -> None:
    y, _ = digit_string([2, 3, 8], pause=0.35, noise=0.001)
    assert len(split_at_pauses(y, 8000, replace(PAUSES, min_pause=0.2))) == 3
    assert len(split_at_pauses(y, 8000, replace(PAUSES, min_pause=1.0))) == 1


def test_silence_and_nothing_have_no_digits() -> None:
    assert split_at_pauses(np.zeros(8000, np.float32), 8000, PAUSES) == []
    assert split_at_pauses(np.random.default_rng(0).normal(0, 0.01, 8000), 8000, PAUSES) == []
    assert split_at_pauses(np.zeros(0, np.float32), 8000, PAUSES) == []


def test_the_sample_rate_only_changes_sample_units() -> None:
    y, _ = digit_string([7, 6], pause=0.4, noise=0.002)
    y16 = np.repeat(y, 2)  # the same signal at 16 kHz
    at8 = split_at_pauses(y, 8000, PAUSES)
    at16 = split_at_pauses(y16, 16000, PAUSES)
    assert len(at8) == len(at16) == 2
    assert np.allclose(np.array(at16) / 16000, np.array(at8) / 8000, atol=0.03)
