"""Signal helpers every part of the project shares (audio reading, synthesis, noise, front ends, pictures): numpy in,
numpy out, no front end's params."""

from functools import cache

import numpy as np
import scipy.fft
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


def equal_frames(lengths: np.ndarray, hop_length: int, most: int = 128) -> list[np.ndarray]:
    """Indices of the clips of `lengths` samples in groups of at most `most` with the same number of frames
    (`length // hop`). The cap bounds the memory of a batch (128 two-second clips: about 100 MB of frames).
    """
    keys = lengths // hop_length
    order = np.argsort(keys, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(keys[order])) + 1)
    return [part for group in groups for part in np.array_split(group, -(-len(group) // most))]


def padded(clips: list[np.ndarray], width: int) -> np.ndarray:
    """`(len(clips), width)` float32 array of `clips` zero-padded at the end to `width` samples."""
    batch = np.zeros((len(clips), width), np.float32)
    for row, y in zip(batch, clips, strict=True):
        row[: len(y)] = y
    return batch


def log_mel_frames(
    y: np.ndarray, sample_rate: int, n_fft: int, hop_length: int, n_mels: int, fmin: float, fmax: float
) -> np.ndarray:
    """Log-mel power spectrum in dB of each frame of `(..., samples)` audio: `(..., frames, n_mels)`.

    `librosa.power_to_db(librosa.feature.melspectrogram(...))`, transposed: centred, zero-padded
    Hann frames, values below the clip's maximum minus 80 dB raised to it. Clips shorter than a
    window are zero-padded to one.
    """
    if y.shape[-1] < n_fft:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_fft - y.shape[-1])])
    # In place where it can be: fresh temporaries of this size cost more in page faults than in maths.
    windowed = frames(y.astype(np.float32, copy=False), n_fft, hop_length) * hann(n_fft)
    parts = scipy.fft.rfft(windowed, axis=-1).view(np.float32)  # (real, imaginary) pairs
    np.square(parts, out=parts)
    power = parts[..., ::2] + parts[..., 1::2]
    mel = power @ mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax).T
    db = np.log(np.maximum(mel, 1e-10, out=mel), out=mel)
    db *= np.float32(10 / np.log(10))  # 10 log10, but float32 log is vectorised and log10 is not
    return np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - 80, out=db)


def log_mel(
    y: np.ndarray, sample_rate: int, n_fft: int, hop_length: int, n_mels: int, fmin: float, fmax: float
) -> np.ndarray:
    """Log-mel power spectrogram `(..., n_mels, frames)` in dB of `(..., samples)` audio (see `log_mel_frames`)."""
    return np.swapaxes(log_mel_frames(y, sample_rate, n_fft, hop_length, n_mels, fmin, fmax), -1, -2)
