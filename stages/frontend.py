"""Feature maths shared by training and prediction: mono float audio in, MFCC features out.

Every function is pure (numpy in, numpy out). `extract` is the one feature extractor of the
project: the features stage and `digits predict` both call it with the params stored with a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import librosa
import numpy as np


@dataclass(frozen=True)
class FeatureParams:
    """Front-end settings; defaults suit 8 kHz speech (32 ms windows, 10 ms hop)."""

    sample_rate: int = 8000
    n_fft: int = 256
    hop_length: int = 80
    n_mels: int = 40
    n_mfcc: int = 20
    fmin: float = 20.0
    fmax: float = 4000.0
    trim_db: float = 40.0
    frames: int = 32
    length: str = "resize"
    segments: int = 3

    @classmethod
    def from_dict(cls, params: dict) -> FeatureParams:
        """Build from a params section, ignoring keys that are not front-end settings."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in params.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def summary_size(self) -> int:
        """Length of the summary vector: mean and std of MFCC and deltas, plus segment means."""
        return self.n_mfcc * (4 + self.segments)


def to_mono(y: np.ndarray) -> np.ndarray:
    """Downmix `(samples,)` or `(samples, channels)` audio to float32 mono."""
    y = np.asarray(y, dtype=np.float32)
    return y.mean(axis=1) if y.ndim == 2 else y


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample mono audio to `target_sr` (soxr, high quality); a no-op at the same rate."""
    if orig_sr == target_sr:
        return y
    return librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq")


def trim_silence(y: np.ndarray, p: FeatureParams) -> np.ndarray:
    """Cut leading and trailing frames quieter than `trim_db` below the clip's peak.

    A clip that would be left shorter than one analysis window is returned whole.
    """
    trimmed, _ = librosa.effects.trim(y, top_db=p.trim_db, frame_length=p.n_fft, hop_length=p.hop_length)
    return trimmed if len(trimmed) >= p.n_fft else y


def log_mel(y: np.ndarray, p: FeatureParams) -> np.ndarray:
    """Log-mel power spectrogram `(n_mels, frames)` in dB; clips shorter than a window are zero-padded."""
    if len(y) < p.n_fft:
        y = np.pad(y, (0, p.n_fft - len(y)))
    power = librosa.feature.melspectrogram(
        y=y,
        sr=p.sample_rate,
        n_fft=p.n_fft,
        hop_length=p.hop_length,
        n_mels=p.n_mels,
        fmin=p.fmin,
        fmax=p.fmax,
    )
    return librosa.power_to_db(power).astype(np.float32)


def mfcc(y: np.ndarray, p: FeatureParams) -> np.ndarray:
    """MFCC matrix `(n_mfcc, frames)`: the DCT of `log_mel`, as `librosa.feature.mfcc` computes it."""
    return librosa.feature.mfcc(S=log_mel(y, p), n_mfcc=p.n_mfcc).astype(np.float32)


def normalise(m: np.ndarray) -> np.ndarray:
    """Per-utterance mean and variance normalisation of each coefficient over time (CMVN)."""
    return (m - m.mean(axis=1, keepdims=True)) / (m.std(axis=1, keepdims=True) + 1e-5)


def fix_frames(m: np.ndarray, frames: int) -> np.ndarray:
    """Centre-crop or symmetrically zero-pad the time axis of `m` to exactly `frames` columns."""
    t = m.shape[1]
    if t >= frames:
        start = (t - frames) // 2
        return m[:, start : start + frames]
    before = (frames - t) // 2
    return np.pad(m, ((0, 0), (before, frames - t - before)))


def resize_frames(m: np.ndarray, frames: int) -> np.ndarray:
    """Linearly interpolate the time axis of `m` to exactly `frames` columns (any input length)."""
    t = m.shape[1]
    position = np.linspace(0, t - 1, frames)
    left = np.floor(position).astype(int)
    right = np.minimum(left + 1, t - 1)
    weight = (position - left).astype(m.dtype)
    return m[:, left] * (1 - weight) + m[:, right] * weight


LENGTH_POLICIES = {"crop": fix_frames, "resize": resize_frames}


def fixed_length(m: np.ndarray, p: FeatureParams) -> np.ndarray:
    """`m` with `p.frames` columns by `p.length`: `crop` (centre-crop/pad) or `resize` (time-warp)."""
    if p.length not in LENGTH_POLICIES:
        raise ValueError(f"unknown length policy {p.length!r}; choose one of {', '.join(LENGTH_POLICIES)}")
    return LENGTH_POLICIES[p.length](m, p.frames)


def summary_vector(m: np.ndarray, segments: int) -> np.ndarray:
    """Fixed-length summary of an MFCC matrix.

    Mean and standard deviation over time of the coefficients and of their deltas, followed by
    the mean of each of `segments` equal time slices, which keeps the order of the sounds.
    """
    width = min(9, m.shape[1] - (1 - m.shape[1] % 2))
    delta = librosa.feature.delta(m, width=width, mode="nearest") if width >= 3 else np.zeros_like(m)
    slices = np.array_split(np.arange(m.shape[1]), segments)
    parts = [m.mean(axis=1), m.std(axis=1), delta.mean(axis=1), delta.std(axis=1)]
    parts += [m[:, idx].mean(axis=1) if len(idx) else m.mean(axis=1) for idx in slices]
    return np.concatenate(parts).astype(np.float32)


def extract(y: np.ndarray, sr: int, p: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Features of one clip: `(matrix (n_mfcc, frames), summary (summary_size,))`.

    `y` is `(samples,)` or `(samples, channels)` audio at `sr` Hz; it is downmixed, resampled to
    `p.sample_rate` and trimmed of silence before the MFCCs are computed.
    """
    y = trim_silence(resample(to_mono(y), sr, p.sample_rate), p)
    m = mfcc(y, p)
    return fixed_length(normalise(m), p), summary_vector(m, p.segments)
