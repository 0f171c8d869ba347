"""Concurrent requests share batches: `digits serve` hands every clip to one worker thread, which runs whatever
clips are waiting through the front end at once (a batch of 32 clips costs Whisper's encoder little more than
one). A clip's features do not depend on the other clips of its batch, so an answer is the same either way."""

import queue
import threading
from concurrent.futures import Future
from typing import Protocol

import numpy as np


class FrontEnd(Protocol):
    def features(self, clips: list[np.ndarray], sample_rate: int) -> tuple[np.ndarray, ...]: ...


class SharedBatches:
    """`front_end` (anything with `features(clips, sample_rate)` -> arrays with a row per clip) behind one worker
    thread that batches the clips of concurrent `features` calls, up to `max_clips` a batch; no call waits for
    others to arrive."""

    def __init__(self, front_end: FrontEnd, max_clips: int) -> None:
        self.front_end, self.max_clips = front_end, max_clips
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        self.batches = self.clips = 0  # batches run and their clips, for the mean batch size
        threading.Thread(target=self.work, name="shared-batches", daemon=True).start()

    def features(self, clips: list[np.ndarray], sample_rate: int) -> tuple[np.ndarray, ...]:
        """The features of `clips`, computed in a batch with the clips of other calls."""
        answer: Future = Future()
        self.waiting.put((clips, sample_rate, answer))
        return answer.result()

    def work(self) -> None:
        """Forever: take the calls waiting (at least one, up to `max_clips` clips), run each rate's clips at once."""
        while True:
            calls = [self.waiting.get()]
            while sum(len(clips) for clips, _, _ in calls) < self.max_clips:
                try:
                    calls.append(self.waiting.get_nowait())
                except queue.Empty:
                    break
            for rate in dict.fromkeys(rate for _, rate, _ in calls):
                self.run([call for call in calls if call[1] == rate], rate)

    def run(self, calls: list[tuple[list[np.ndarray], int, Future]], sample_rate: int) -> None:
        """One batch of the clips of `calls` (all at `sample_rate`); each call gets its rows, or the error."""
        clips = [clip for call_clips, _, _ in calls for clip in call_clips]
        try:
            found = self.front_end.features(clips, sample_rate)
        except Exception as err:  # every caller hears of it; the worker goes on
            for _, _, answer in calls:
                answer.set_exception(err)
            return
        self.batches, self.clips = self.batches + 1, self.clips + len(clips)
        start = 0
        for call_clips, _, answer in calls:
            answer.set_result(tuple(array[start : start + len(call_clips)] for array in found))
            start += len(call_clips)
