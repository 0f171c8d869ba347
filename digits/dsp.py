"""Signal helpers every part of the project shares (audio reading, synthesis, noise, both front ends): numpy in,
numpy out, no front end's params."""

from functools import cache

import numpy as np
import soxr
from numpy.lib.stride_tricks import as_strided


def to_mono(y: np.ndarray) -> np.ndarray:
    """Downmix `(samples,)` or `(samples, channels)` audio to float32 mono."""
    y = np.asarray(y, dtype=np.float32)
    return y.mean(axis=1) if y.ndim == 2 else y


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample mono audio to `target_sr` with soxr (high quality), to `ceil(n * ratio)` samples.

    What `librosa.resample(res_type="soxr_hq")` does; a no-op at the same rate.
    """
    if orig_sr == target_sr:
        return y
    size = int(np.ceil(len(y) * target_sr / orig_sr))
    y_hat = soxr.resample(y, orig_sr, target_sr, quality="soxr_hq")[:size]
    return np.pad(y_hat, (0, size - len(y_hat))).astype(y.dtype)


def frames(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Centred frames `(..., 1 + samples // hop_length, frame_length)` of `(..., samples)` audio, zero-padded
    at both ends; a read-only view of one padded copy.
    """
    half = frame_length // 2
    padded = np.zeros((*y.shape[:-1], y.shape[-1] + 2 * half), y.dtype)
    padded[..., half : half + y.shape[-1]] = y
    step = padded.strides[-1]
    shape = (*y.shape[:-1], 1 + y.shape[-1] // hop_length, frame_length)
    return as_strided(padded, shape, (*padded.strides[:-1], step * hop_length, step), writeable=False)


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    log_region = 15 + np.log(np.maximum(hz, 1e-10) / 1000) / (np.log(6.4) / 27)
    return np.where(hz >= 1000, log_region, hz * 3 / 200)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15, 1000 * np.exp(np.log(6.4) / 27 * (mel - 15)), mel * 200 / 3)


@cache
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-normalised triangular mel filters `(n_mels, 1 + n_fft // 2)`, as `librosa.filters.mel`."""
    fft_hz = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    ramps = mel_hz[:, None] - fft_hz[None, :]
    width = np.diff(mel_hz)
    lower = -ramps[:-2] / width[:-1, None]
    upper = ramps[2:] / width[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper)) * (2 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    return weights.astype(np.float32)


@cache
def hann(n: int) -> np.ndarray:
    """Periodic Hann window of length `n` (for spectral analysis)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)
