"""The one feature extractor, shared by training and prediction: mono audio in, a front end's features out.

`extract_views` is it: the features stage, augment, the detector and `digits predict` all call it with the
params stored with a table or a model. Each clip is downmixed, resampled, trimmed of silence, then handed
to the front end that `features.frontend` names (`digits.frontends`: MFCC, or the opt-in speech_embedding).
Every function is pure (numpy in, numpy out); the trimming is `librosa.effects.trim`'s, held equal to it by
the tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from digits.dsp import equal_frames, frames, padded, resample, to_mono
from digits.frontends import FRONTENDS, front_end

PICTURE_BANDS = 40  # mel bands of the spectrogram pictures of a front end that has none of its own
SHARED = ("frontend", "sample_rate", "n_fft", "hop_length", "trim_db", "test_speeds")  # every front end's keys


@dataclass(frozen=True)
class FeatureParams:
    """Front-end settings (params.yaml's `features`, validated there), as stored with features and models: the keys
    every front end shares, and `settings`, the chosen front end's own sub-section (`features.mfcc`, ...)."""

    frontend: str
    sample_rate: int
    n_fft: int
    hop_length: int
    trim_db: float
    test_speeds: tuple[float, ...]
    settings: Any  # the `Settings` of the front end `frontend`

    def __post_init__(self) -> None:
        object.__setattr__(self, "test_speeds", tuple(float(s) for s in self.test_speeds))

    @classmethod
    def of(cls, section: Any) -> FeatureParams:
        """The feature params of params.yaml's `features` section (its chosen front end's sub-section only)."""
        own = getattr(section, section.frontend).model_dump()
        return cls(**{k: getattr(section, k) for k in SHARED}, settings=front_end(section.frontend).Settings(**own))

    @classmethod
    def from_dict(cls, stored: dict) -> FeatureParams:
        """The feature params as `to_dict` stored them; a ValueError if they are not of this version."""
        if set(stored) != {*SHARED, stored.get("frontend")}:
            raise ValueError(f"not the feature params of this version: {sorted(stored)}")
        module = front_end(stored["frontend"])
        return cls(**{k: stored[k] for k in SHARED}, settings=module.Settings(**stored[stored["frontend"]]))

    def to_dict(self) -> dict:
        """The params as plain JSON types: the shared keys and the front end's own under its name."""
        return {
            **{k: getattr(self, k) for k in SHARED},
            "test_speeds": list(self.test_speeds),
            self.frontend: asdict(self.settings),
        }

    @property
    def front_end(self) -> ModuleType:
        """The front end module (`digits.frontends`) that makes these features."""
        return front_end(self.frontend)

    @property
    def mel_bands(self) -> tuple[int, float, float]:
        """(bands, lowest Hz, highest Hz) of the log-mel spectrogram pictures of this audio are drawn with: the MFCC
        front end's own, else `PICTURE_BANDS` up to the Nyquist frequency."""
        s = self.settings
        return (s.n_mels, s.fmin, s.fmax) if hasattr(s, "n_mels") else (PICTURE_BANDS, 0.0, self.sample_rate / 2)

    @property
    def speeds(self) -> tuple[float, ...]:
        """Playback speed of each view of a clip: the clip itself, then `test_speeds`."""
        return (1.0, *self.test_speeds)

    @property
    def matrix(self) -> str:
        """Name of the matrices this front end makes (their feature table column, a model's `input`)."""
        return FRONTENDS[self.frontend]

    @property
    def matrix_shape(self) -> tuple[int, int]:
        """(rows, columns) of a clip's matrix: MFCC coefficients by frames, or embedding numbers by steps."""
        return self.front_end.matrix_shape(self.settings)

    @property
    def summary_size(self) -> int:
        """Length of a clip's summary vector."""
        return self.front_end.summary_size(self.settings)


def trim_bounds(batch: np.ndarray, lengths: np.ndarray, p: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """(start, stop) sample of each clip's speech: leading and trailing frames quieter than `trim_db`
    below the clip's loudest frame are cut.

    `batch` is `(n, samples)`: clips of `lengths` samples zero-padded to one length, all with the same
    number of frames (`lengths // hop_length` equal). As `librosa.effects.trim(top_db=trim_db,
    frame_length=n_fft, hop_length=hop_length)`; a clip that would be left shorter than one analysis
    window is kept whole.
    """
    framed = frames(batch.astype(np.float32, copy=False), p.n_fft, p.hop_length)
    power = np.einsum("...i,...i->...", framed, framed).astype(np.float64) / p.n_fft  # mean square, in float32
    db = 10 * np.log10(np.maximum(power, 1e-10)) - 10 * np.log10(np.maximum(power.max(axis=1, keepdims=True), 1e-10))
    loud = db > -p.trim_db  # the loudest frame always is
    start = np.argmax(loud, axis=1) * p.hop_length
    stop = np.minimum(lengths, (loud.shape[1] - np.argmax(loud[:, ::-1], axis=1)) * p.hop_length)
    whole = stop - start < p.n_fft
    return np.where(whole, 0, start), np.where(whole, lengths, stop)


def trim_silence(y: np.ndarray, p: FeatureParams) -> np.ndarray:
    """The speech of one clip: `y` without its leading and trailing silence (see `trim_bounds`)."""
    start, stop = trim_bounds(y[None], np.array([len(y)]), p)
    return y[start[0] : stop[0]]


def extract_batch(
    clips: list[tuple[np.ndarray, int]],
    p: FeatureParams,
    speed: float = 1.0,
    model_dir: Path | None = None,
    threads: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Features of `(audio, sample rate)` clips: `(matrices (n, *matrix_shape), summaries (n, summary_size))`.

    Each clip is downmixed, resampled to `p.sample_rate` (played `speed` times faster: tempo and pitch
    together, as a tape would) and trimmed of silence, clips with the same number of frames as one array;
    then the front end makes their features, its pretrained model (if it has one) opened from `model_dir`
    on `threads` threads (0: every core).
    """
    audio = [resample(to_mono(y), round(sr * speed), p.sample_rate) for y, sr in clips]
    speech: list[np.ndarray] = [np.empty(0, np.float32)] * len(audio)
    lengths = np.array([len(y) for y in audio])
    for group in equal_frames(lengths, p.hop_length):
        starts, stops = trim_bounds(padded([audio[i] for i in group], lengths[group].max()), lengths[group], p)
        for i, start, stop in zip(group, starts, stops, strict=True):
            speech[i] = audio[i][start:stop]
    return p.front_end.features(speech, p, model_dir, threads)


def extract_views(
    clips: list[tuple[np.ndarray, int]], p: FeatureParams, model_dir: Path | None = None, threads: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Features of every view of the clips, one per speed of `p.speeds`, for test-time averaging:
    `(matrices (n, views, *matrix_shape), summaries (n, views, summary_size))`; view 0 is the clip itself.
    """
    views = [extract_batch(clips, p, speed, model_dir, threads) for speed in p.speeds]
    return np.stack([m for m, _ in views], axis=1), np.stack([s for _, s in views], axis=1)


def extract(
    y: np.ndarray, sr: int, p: FeatureParams, model_dir: Path | None = None, threads: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Features of the views of one clip `y` (`(samples,)` or `(samples, channels)` at `sr` Hz):
    `(matrices (views, *matrix_shape), summaries (views, summary_size))`.
    """
    matrices, summaries = extract_views([(y, sr)], p, model_dir, threads)
    return matrices[0], summaries[0]


def select_input(name: str, matrix: np.ndarray, summary: np.ndarray) -> np.ndarray:
    """The features a model reads (its `input`): the matrices (`mfcc` or `embedding`) or `summary` vectors."""
    if name not in ("summary", *FRONTENDS.values()):
        raise ValueError(f"unknown model input {name!r}; expected {', '.join(FRONTENDS.values())} or summary")
    return summary if name == "summary" else matrix
