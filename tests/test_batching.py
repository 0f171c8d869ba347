"""`digits serve`'s shared batches: concurrent calls share a batch and each gets its own rows, or the error."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from digits.batching import SharedBatches


class Slow:
    """A front end whose every call takes 50 ms and whose features say each clip's first sample (and its length)."""

    def features(self, clips: list[np.ndarray], sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        time.sleep(0.05)
        if any(clip[0] < 0 for clip in clips):
            raise ValueError("a negative clip")
        return np.array([[clip[0], sample_rate, len(clips)] for clip in clips]), np.array([len(c) for c in clips])


def test_concurrent_calls_share_batches_and_each_gets_its_own_rows() -> None:
    batched = SharedBatches(Slow(), max_clips=8)
    calls = [([np.full(10 + i, float(i)), np.full(5, i + 0.5)], 8000 if i % 4 else 16000) for i in range(24)]
    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda call: batched.features(*call), calls))
    for (clips, rate), (answer, lengths) in zip(calls, answers, strict=True):
        assert answer[:, 0].tolist() == [clip[0] for clip in clips] and (answer[:, 1] == rate).all()
        assert lengths.tolist() == [len(clip) for clip in clips]
    assert batched.clips == 48 and batched.batches < 24  # one batch a call would be 24
    assert max(answer[0, 2] for answer, _ in answers) > 2  # some batch held more than one call's clips


def test_an_error_reaches_the_calls_of_its_batch_and_the_worker_goes_on() -> None:
    batched = SharedBatches(Slow(), max_clips=8)
    with pytest.raises(ValueError, match="a negative clip"):
        batched.features([np.full(10, -1.0)], 8000)
    assert batched.features([np.full(10, 3.0)], 8000)[0][0, 0] == 3.0
