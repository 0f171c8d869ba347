"""Feature maths shared by training and prediction: mono float audio in, MFCC (or speech embedding) features out.

Every function is pure (numpy in, numpy out). `extract_views` is the one feature extractor of the
project: the features stage and `digits predict` both call it with the params stored with a model.
With `frontend: speech_embedding` the trimmed speech goes to the pretrained model of `digits.embedding`
instead of the MFCC maths.
The spectral maths is librosa's (`librosa.feature.mfcc`, `librosa.effects.trim`,
`librosa.feature.delta`), written in numpy (and scipy's FFT) so that it works on batches of clips
and so that `digits predict` starts without importing librosa or numba; tests hold it equal to
librosa.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from itertools import pairwise

import numpy as np
import scipy.fft

from digits import embedding
from digits.dsp import frames, hann, mel_filterbank, resample, to_mono

MATRICES = {"mfcc": "mfcc", "speech_embedding": "embedding"}  # front end -> its matrix (a feature table column)


@dataclass(frozen=True)
class FeatureParams:
    """Front-end settings (params.yaml's `features`, validated there), as stored with features and models."""

    frontend: str
    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    n_mfcc: int
    fmin: float
    fmax: float
    trim_db: float
    frames: int
    length: str
    segments: int
    test_speeds: tuple[float, ...]
    embedding_steps: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "test_speeds", tuple(float(s) for s in self.test_speeds))

    @classmethod
    def of(cls, section: object) -> FeatureParams:
        """The front-end settings of a params section that has them (params.yaml's `features`) among others."""
        return cls(**{name: getattr(section, name) for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        """The params as plain JSON types (`test_speeds` a list), as stored with features and models."""
        return {**asdict(self), "test_speeds": list(self.test_speeds)}

    @property
    def speeds(self) -> tuple[float, ...]:
        """Playback speed of each view of a clip: the clip itself, then `test_speeds`."""
        return (1.0, *self.test_speeds)

    @property
    def matrix(self) -> str:
        """Name of the matrices this front end makes (their feature table column, a model's `input`)."""
        return MATRICES[self.frontend]

    @property
    def matrix_shape(self) -> tuple[int, int]:
        """(rows, columns) of a clip's matrix: MFCC coefficients by frames, or embedding numbers by steps."""
        return (self.n_mfcc, self.frames) if self.frontend == "mfcc" else (embedding.DIM, self.embedding_steps)

    @property
    def summary_size(self) -> int:
        """Length of the summary vector: mean and std of MFCC and deltas, plus segment means (embeddings: their
        mean and std)."""
        return self.n_mfcc * (4 + self.segments) if self.frontend == "mfcc" else 2 * embedding.DIM


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


@cache
def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II `(n_out, n_in)`, the first rows of `scipy.fft.dct(norm="ortho")`."""
    k, n = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2 / n_in)
    basis[0] /= np.sqrt(2)
    return basis.astype(np.float32)


def log_mel_frames(y: np.ndarray, p: FeatureParams) -> np.ndarray:
    """Log-mel power spectrum in dB of each frame of `(..., samples)` audio: `(..., frames, n_mels)`.

    `librosa.power_to_db(librosa.feature.melspectrogram(...))`, transposed: centred, zero-padded
    Hann frames, values below the clip's maximum minus 80 dB raised to it. Clips shorter than a
    window are zero-padded to one.
    """
    if y.shape[-1] < p.n_fft:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, p.n_fft - y.shape[-1])])
    # In place where it can be: fresh temporaries of this size cost more in page faults than in maths.
    windowed = frames(y.astype(np.float32, copy=False), p.n_fft, p.hop_length) * hann(p.n_fft)
    parts = scipy.fft.rfft(windowed, axis=-1).view(np.float32)  # (real, imaginary) pairs
    np.square(parts, out=parts)
    power = parts[..., ::2] + parts[..., 1::2]
    mel = power @ mel_filterbank(p.sample_rate, p.n_fft, p.n_mels, p.fmin, p.fmax).T
    db = np.log(np.maximum(mel, 1e-10, out=mel), out=mel)
    db *= np.float32(10 / np.log(10))  # 10 log10, but float32 log is vectorised and log10 is not
    return np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - 80, out=db)


def log_mel(y: np.ndarray, p: FeatureParams) -> np.ndarray:
    """Log-mel power spectrogram `(..., n_mels, frames)` in dB of `(..., samples)` audio (see `log_mel_frames`)."""
    return np.swapaxes(log_mel_frames(y, p), -1, -2)


def mfcc(y: np.ndarray, p: FeatureParams) -> np.ndarray:
    """MFCC matrix `(..., n_mfcc, frames)`: the orthonormal DCT of `log_mel`, as `librosa.feature.mfcc`."""
    return np.swapaxes(log_mel_frames(y, p) @ dct_matrix(p.n_mfcc, p.n_mels).T, -1, -2)


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


def fixed_length(m: np.ndarray, p: FeatureParams) -> np.ndarray:
    """`m` with `p.frames` columns by `p.length`: `crop` (centre-crop/pad) or `resize` (time-warp)."""
    if p.length not in LENGTH_POLICIES:
        raise ValueError(f"unknown length policy {p.length!r}; choose one of {', '.join(LENGTH_POLICIES)}")
    return LENGTH_POLICIES[p.length](m, p.frames)


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


def extract_batch(
    clips: list[tuple[np.ndarray, int]], p: FeatureParams, speed: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Features of `(audio, sample rate)` clips: `(matrices (n, *matrix_shape), summaries (n, summary_size))`.

    Each clip is downmixed, resampled to `p.sample_rate` (played `speed` times faster: tempo and
    pitch together, as a tape would) and trimmed of silence; then the clips with the same number of
    frames go through the maths as one array, which gives each clip exactly what it would get alone.
    """
    audio = [resample(to_mono(y), round(sr * speed), p.sample_rate) for y, sr in clips]
    speech: list[np.ndarray] = [np.empty(0, np.float32)] * len(audio)
    lengths = np.array([len(y) for y in audio])
    for group in equal_frames(lengths, p.hop_length):
        starts, stops = trim_bounds(padded([audio[i] for i in group], lengths[group].max()), lengths[group], p)
        for i, start, stop in zip(group, starts, stops, strict=True):
            speech[i] = audio[i][start:stop]
    if p.frontend == "speech_embedding":
        return embedded(speech, p)
    matrices = np.empty((len(clips), *p.matrix_shape), np.float32)
    summaries = np.empty((len(clips), p.summary_size), np.float32)
    lengths = np.array([max(len(y), p.n_fft) for y in speech])  # log_mel pads shorter clips to one window
    for group in equal_frames(lengths, p.hop_length):
        m = mfcc(padded([speech[i] for i in group], lengths[group].max()), p)
        matrices[group] = fixed_length(normalise(m), p)
        summaries[group] = summary_vector(m, p.segments)
    return matrices, summaries


def embedded(speech: list[np.ndarray], p: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """(embedding sequences `(n, 96, embedding_steps)`, summaries `(n, 192)`: their mean and std over time) of
    trimmed clips at `p.sample_rate`, each resampled to 16 kHz and centred in (or cut to) the model's input."""
    width = embedding.samples_for(p.embedding_steps)
    batch = np.zeros((len(speech), width), np.float32)
    for row, y in zip(batch, speech, strict=True):
        y = resample(y, p.sample_rate, embedding.SAMPLE_RATE)[:width]
        start = (width - len(y)) // 2
        row[start : start + len(y)] = y
    matrices = embedding.embed(batch)
    return matrices, np.concatenate([matrices.mean(axis=-1), matrices.std(axis=-1)], axis=-1).astype(np.float32)


def extract_views(clips: list[tuple[np.ndarray, int]], p: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Features of every view of the clips, one per speed of `p.speeds`, for test-time averaging:
    `(matrices (n, views, *matrix_shape), summaries (n, views, summary_size))`; view 0 is the clip itself.
    """
    views = [extract_batch(clips, p, speed) for speed in p.speeds]
    return np.stack([m for m, _ in views], axis=1), np.stack([s for _, s in views], axis=1)


def extract(y: np.ndarray, sr: int, p: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Features of the views of one clip `y` (`(samples,)` or `(samples, channels)` at `sr` Hz):
    `(matrices (views, n_mfcc, frames), summaries (views, summary_size))`.
    """
    matrices, summaries = extract_views([(y, sr)], p)
    return matrices[0], summaries[0]


def select_input(name: str, matrix: np.ndarray, summary: np.ndarray) -> np.ndarray:
    """The features a model reads (its `input`): the matrices (`mfcc` or `embedding`) or `summary` vectors."""
    if name not in ("summary", *MATRICES.values()):
        raise ValueError(f"unknown model input {name!r}; expected {', '.join(MATRICES.values())} or summary")
    return summary if name == "summary" else matrix
