"""The MFCC front end (the default): trimmed speech in, a normalised MFCC matrix and a summary vector out.

The spectral maths is librosa's (`librosa.feature.mfcc`, `librosa.feature.delta`; the log-mel spectrum is
`digits.dsp.log_mel_frames`), written in numpy so that it works on batches of clips and so that `digits
predict` starts without importing librosa or numba; tests hold it equal to librosa. Every function is pure
(numpy in, numpy out).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Protocol

import numpy as np

from digits.dsp import equal_frames, log_mel_frames, padded

SPEC_AUGMENT = True  # training masks and shifts its matrices (SpecAugment)
PRETRAINED = False  # no model folder to obtain


@dataclass(frozen=True)
class Settings:
    """params.yaml's `features.mfcc`, as stored with features and models."""

    n_mels: int
    n_mfcc: int
    fmin: float
    fmax: float
    frames: int
    length: str
    segments: int


class Params(Protocol):
    """What the MFCC maths reads of the feature params (`digits.features.FeatureParams`)."""

    sample_rate: int
    n_fft: int
    hop_length: int
    settings: Settings


def matrix_shape(s: Settings) -> tuple[int, int]:
    """(coefficients, frames) of a clip's matrix."""
    return s.n_mfcc, s.frames


def summary_size(s: Settings) -> int:
    """Mean and std of the coefficients and of their deltas, plus a mean per segment."""
    return s.n_mfcc * (4 + s.segments)


@cache
def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II `(n_out, n_in)`, the first rows of `scipy.fft.dct(norm="ortho")`."""
    k, n = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2 / n_in)
    basis[0] /= np.sqrt(2)
    return basis.astype(np.float32)


def mfcc(y: np.ndarray, p: Params) -> np.ndarray:
    """MFCC matrix `(..., n_mfcc, frames)`: the orthonormal DCT of the log-mel spectrum, as `librosa.feature.mfcc`."""
    s = p.settings
    spectrum = log_mel_frames(y, p.sample_rate, p.n_fft, p.hop_length, s.n_mels, s.fmin, s.fmax)
    return np.swapaxes(spectrum @ dct_matrix(s.n_mfcc, s.n_mels).T, -1, -2)


def delta(m: np.ndarray, width: int) -> np.ndarray:
    """Local slope of each row of `m` over `width` (odd, >= 3) frames, edges repeated, as `librosa.feature.delta`:
    the least-squares slope `sum(k * (m[t + k] - m[t - k])) / (2 * sum(k**2))` for k = 1 .. width // 2.
    """
    half, t = width // 2, m.shape[-1]
    padded = np.concatenate([m[..., :1]] * half + [m] + [m[..., -1:]] * half, axis=-1)
    slope = padded[..., half + 1 : half + 1 + t] - padded[..., half - 1 : half - 1 + t]
    for k in range(2, half + 1):
        slope += k * (padded[..., half + k : half + k + t] - padded[..., half - k : half - k + t])
    return slope / np.float32(2 * sum(k * k for k in range(1, half + 1)))


def normalise(m: np.ndarray) -> np.ndarray:
    """Per-utterance mean and variance normalisation of each coefficient over time (CMVN), `(..., frames)`."""
    return (m - m.mean(axis=-1, keepdims=True)) / (m.std(axis=-1, keepdims=True) + 1e-5)


def fix_frames(m: np.ndarray, frames: int) -> np.ndarray:
    """Centre-crop or symmetrically zero-pad the time (last) axis of `m` to exactly `frames` columns."""
    t = m.shape[-1]
    if t >= frames:
        start = (t - frames) // 2
        return m[..., start : start + frames]
    before = (frames - t) // 2
    return np.pad(m, [(0, 0)] * (m.ndim - 1) + [(before, frames - t - before)])


def resize_frames(m: np.ndarray, frames: int) -> np.ndarray:
    """Linearly interpolate the time (last) axis of `m` to exactly `frames` columns (any input length)."""
    t = m.shape[-1]
    position = np.linspace(0, t - 1, frames)
    left = np.floor(position).astype(int)
    right = np.minimum(left + 1, t - 1)
    weight = (position - left).astype(m.dtype)
    return m[..., left] * (1 - weight) + m[..., right] * weight


LENGTH_POLICIES = {"crop": fix_frames, "resize": resize_frames}


def fixed_length(m: np.ndarray, s: Settings) -> np.ndarray:
    """`m` with `s.frames` columns by `s.length`: `crop` (centre-crop/pad) or `resize` (time-warp)."""
    if s.length not in LENGTH_POLICIES:
        raise ValueError(f"unknown length policy {s.length!r}; choose one of {', '.join(LENGTH_POLICIES)}")
    return LENGTH_POLICIES[s.length](m, s.frames)


def summary_vector(m: np.ndarray, segments: int) -> np.ndarray:
    """Fixed-length summary of MFCC matrices `(..., n_mfcc, frames)`: `(..., n_mfcc * (4 + segments))`.

    Mean and standard deviation over time of the coefficients and of their deltas, followed by
    the mean of each of `segments` equal time slices, which keeps the order of the sounds.
    """
    t = m.shape[-1]
    width = min(9, t - (1 - t % 2))
    slope = delta(m, width) if width >= 3 else np.zeros_like(m)
    parts = [m.mean(axis=-1), m.std(axis=-1), slope.mean(axis=-1), slope.std(axis=-1)]
    edges = np.cumsum([0] + [t // segments + (i < t % segments) for i in range(segments)])  # np.array_split's
    parts += [m[..., a:b].mean(axis=-1) if b > a else parts[0] for a, b in pairwise(edges)]
    return np.concatenate(parts, axis=-1).astype(np.float32)


def features(
    speech: list[np.ndarray], p: Params, model_dir: Path | None = None, threads: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(matrices `(n, n_mfcc, frames)`, summaries `(n, summary_size)`) of trimmed mono clips at `p.sample_rate`.

    Clips with the same number of frames go through the maths as one array, which gives each clip exactly
    what it would get alone. (`model_dir`, `threads`: unused, MFCC has no pretrained model.)
    """
    s: Settings = p.settings
    matrices = np.empty((len(speech), *matrix_shape(s)), np.float32)
    summaries = np.empty((len(speech), summary_size(s)), np.float32)
    lengths = np.array([max(len(y), p.n_fft) for y in speech])  # log_mel pads shorter clips to one window
    for group in equal_frames(lengths, p.hop_length):
        m = mfcc(padded([speech[i] for i in group], lengths[group].max()), p)
        matrices[group] = fixed_length(normalise(m), s)
        summaries[group] = summary_vector(m, s.segments)
    return matrices, summaries
