"""Perturbations for training-time augmentation and noise tests, all seeded by the caller's generator.

Waveform functions take and return mono float32 audio; `spec_augment` takes a batch of feature
matrices `(batch, coefficients, frames)`. Nothing here is used on evaluation clips except the noises
(`add_noise`, `white_noise`, `babble`, `coloured_noise` through `noisy_batch`), with which the `noise`
stage corrupts the test split.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import librosa
import numpy as np
import scipy.fft
import scipy.signal

from digits.dsp import resample
from digits.params import AugmentParams, SpecAugmentParams


def add_noise(y: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`y` plus `noise` (same length) scaled to a signal-to-noise ratio of `snr_db` decibels."""
    signal_power = np.mean(y**2) + 1e-12
    noise_power = np.mean(noise**2) + 1e-12
    scale = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return (y + scale * noise).astype(np.float32)


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of unit-variance Gaussian white noise."""
    return rng.standard_normal(n).astype(np.float32)


def babble(clips: Sequence[np.ndarray], n: int, rng: np.random.Generator, talkers: int) -> np.ndarray:
    """Speech-shaped noise of `n` samples: `talkers` random `clips`, each looped to length and level-matched."""
    out = np.zeros(n, np.float32)
    for i in rng.choice(len(clips), size=min(talkers, len(clips)), replace=False):
        clip = np.asarray(clips[i], np.float32)
        looped = np.tile(clip, -(-n // max(len(clip), 1)))[:n]
        start = rng.integers(len(clip)) if len(clip) else 0
        out += np.roll(looped, -start) / (looped.std() + 1e-9)
    return out


def change_speed(y: np.ndarray, sr: int, factor: float) -> np.ndarray:
    """Play `y` `factor` times faster (tempo and pitch together, like a tape), by resampling."""
    return resample(y, round(sr * factor), sr)


VOCODER_FFT, VOCODER_HOP = 256, 64  # the pitch shift's STFT: 32 ms windows at 8 kHz, 4 frames per window


def vocoder_spectrum(y: np.ndarray) -> np.ndarray:
    """The STFT that `shift_pitch` stretches: compute it once for all the copies of one clip."""
    return librosa.stft(y, n_fft=VOCODER_FFT, hop_length=VOCODER_HOP)


def phase_vocoder(spectrum: np.ndarray, rate: float, hop_length: int) -> np.ndarray:
    """The STFT `spectrum (1 + n_fft // 2, frames)` played `rate` times faster at the same pitch.

    `librosa.phase_vocoder`'s algorithm, with its loop over output frames replaced by a cumulative sum
    of the phase advances (each depends on the input frames only), which is several times faster.
    """
    n_fft = 2 * (spectrum.shape[0] - 1)
    steps = np.arange(0, spectrum.shape[1], rate)
    expected = hop_length * librosa.fft_frequencies(sr=2 * np.pi, n_fft=n_fft)[:, None]
    padded = np.pad(spectrum, [(0, 0), (0, 2)])
    magnitudes, phases, left = np.abs(padded), np.angle(padded), steps.astype(int)
    alpha = steps % 1.0
    magnitude = (1.0 - alpha) * magnitudes[:, left] + alpha * magnitudes[:, left + 1]
    deviation = phases[:, left + 1] - phases[:, left] - expected
    deviation -= 2.0 * np.pi * np.round(deviation / (2.0 * np.pi))
    advance = np.concatenate([phases[:, :1], (expected + deviation)[:, :-1]], axis=1)
    return magnitude * np.exp(1j * np.cumsum(advance, axis=1))


@functools.cache
def hann_window(n_fft: int) -> np.ndarray:
    return librosa.filters.get_window("hann", n_fft, fftbins=True)


@functools.cache
def window_sum(n_frames: int, n_fft: int, hop_length: int) -> np.ndarray:
    """The squared Hann windows of `n_frames` frames, overlap-added: what an inverse STFT divides by."""
    return librosa.filters.window_sumsquare(
        window="hann", n_frames=n_frames, win_length=n_fft, n_fft=n_fft, hop_length=hop_length, dtype=np.float64
    )


def overlap_add(y: np.ndarray, frames: np.ndarray, hop_length: int) -> None:
    """Add each column of `frames (n_fft, n)` into `y` at `hop_length` steps, in place, cut at `y`'s end.

    Every sample gets its frames' terms in frame order, as librosa's loop adds them (so the same bits), in one
    vectorised addition per frame offset; `n_fft` must be a multiple of `hop_length`.
    """
    n_fft, n = frames.shape
    overlap = n_fft // hop_length
    blocks = n + overlap - 1
    out = np.zeros(max(blocks * hop_length, len(y)), y.dtype)
    out[: len(y)] = y
    grid, pieces = out[: blocks * hop_length].reshape(blocks, hop_length), frames.T.reshape(n, overlap, hop_length)
    for offset in reversed(range(overlap)):  # a block's earliest frame is the one at the largest offset
        grid[offset : offset + n] += pieces[:, offset]
    y[:] = out[: len(y)]


def istft(spectrum: np.ndarray, hop_length: int, length: int) -> np.ndarray:
    """`librosa.istft(spectrum, hop_length=hop_length, length=length)` (Hann window, centred frames), bit for
    bit, without its per-call setup: the window and the window sum are computed once per size."""
    n_fft = 2 * (spectrum.shape[0] - 1)
    half, window = n_fft // 2, hann_window(n_fft)[:, None]
    n_frames = min(spectrum.shape[1], int(np.ceil((length + 2 * half) / hop_length)))
    y = np.zeros(length, librosa.util.dtype_c2r(spectrum.dtype))
    first = int(np.ceil(half / hop_length))  # frames that reach before the signal's start
    head = np.zeros(n_fft + hop_length * (first - 1), y.dtype)
    overlap_add(head, window * scipy.fft.irfft(spectrum[:, :first], n=n_fft, axis=0), hop_length)
    reach = min(length, len(head) - half)
    y[:reach] = head[half : half + reach]
    start = first * hop_length - half
    columns = max(librosa.util.MAX_MEM_BLOCK // (spectrum.shape[0] * spectrum.itemsize), 1)
    for block in range(first, n_frames, columns):
        stop = min(block + columns, n_frames)
        frames = window * scipy.fft.irfft(spectrum[:, block:stop], n=n_fft, axis=0)
        overlap_add(y[start + (block - first) * hop_length :], frames, hop_length)
    weights = librosa.util.fix_length(window_sum(n_frames, n_fft, hop_length)[half:], size=length)
    nonzero = weights > librosa.util.tiny(weights)
    y[nonzero] /= weights[nonzero]
    return y


def shift_pitch(
    y: np.ndarray, sr: int, semitones: float, factor: float = 1.0, spectrum: np.ndarray | None = None
) -> np.ndarray:
    """Shift the pitch and formants of `y` by `semitones`, then play it `factor` times faster (as
    `change_speed`): a time stretch by phase vocoder and one resampling for both. `spectrum`: `y`'s
    `vocoder_spectrum`, if the caller has it."""
    if len(y) < VOCODER_FFT:
        return change_speed(y, sr, factor)
    rate = 2.0 ** (-semitones / 12)
    spectrum = vocoder_spectrum(y) if spectrum is None else spectrum
    stretched = istft(phase_vocoder(spectrum, rate, VOCODER_HOP), VOCODER_HOP, round(len(y) / rate))
    shifted = resample(stretched.astype(np.float32), round(sr * factor / rate), sr)
    return librosa.util.fix_length(shifted, size=int(np.ceil(len(y) * sr / round(sr * factor))))


def band_limit(y: np.ndarray, sr: int, low_hz: float, high_hz: float) -> np.ndarray:
    """`y` through a band-pass between `low_hz` and `high_hz` (2nd-order Butterworth, as a cheap microphone or
    telephone line); a high-pass only when `high_hz` reaches Nyquist."""
    if high_hz >= sr / 2:
        sos = scipy.signal.butter(2, low_hz, btype="highpass", fs=sr, output="sos")
    else:
        sos = scipy.signal.butter(2, [low_hz, high_hz], btype="bandpass", fs=sr, output="sos")
    return scipy.signal.sosfilt(sos, y).astype(np.float32)


def room_response(sr: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response: the direct path, then Gaussian noise decaying by 60 dB in `rt60`
    seconds, `rt60` seconds long."""
    t = np.arange(max(round(rt60 * sr), 2)) / sr
    h = rng.standard_normal(len(t)) * 10 ** (-3 * t / rt60) * 0.1
    h[0] = 1.0
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def reverberate(y: np.ndarray, h: np.ndarray) -> np.ndarray:
    """`y` convolved with the impulse response `h`, at its level, with the reverberant tail kept."""
    wet = scipy.signal.fftconvolve(y, h)
    return (wet * (np.abs(y).max() / (np.abs(wet).max() + 1e-12))).astype(np.float32)


def perturb(
    y: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    noise_clips: Sequence[np.ndarray],
    p: AugmentParams,
    spectrum: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """One random perturbation of `y` and the noise mixed into it (`""`, `"white"` or `"babble"`); `spectrum`:
    `y`'s `vocoder_spectrum`, if the caller has it (the copies of a clip share it).

    Speed factor uniform in `1 ± p.speed`, pitch shift uniform in `± p.pitch` semitones (`p.pitch_shift`
    `vocoder`: at constant duration; `resample`: in the same resampling as the speed, so the duration
    changes too, which the front end's `resize` evens out, at a third of the cost), then with
    probability `p.noise_prob` noise at an SNR uniform in `p.snr_db`: with probability `p.babble_share`
    babble of `p.talkers` (uniform in that range) of `noise_clips`, else white noise. With `babble_snr`
    `per_talker` that SNR is the clip's against each talker alone, so that `y` stays the loudest voice
    whatever the number of talkers (k talkers at a per-talker SNR s make a total SNR of s - 10 log10 k);
    with `total` it is against the whole babble. Then the channel, which colours speech and noise alike:
    with probability `p.reverb_prob` a synthetic room (`rt60` uniform in `p.rt60`), with probability
    `p.band_prob` a band-pass with edges uniform in `p.band_low_hz` and `p.band_high_hz`. A zero setting
    leaves that perturbation out.
    """
    factor = rng.uniform(1 - p.speed, 1 + p.speed) if p.speed else 1.0
    semitones = rng.uniform(-p.pitch, p.pitch) if p.pitch else 0.0
    if p.pitch_shift == "resample" or not semitones:
        y = change_speed(y, sr, factor * 2 ** (semitones / 12))
    else:
        y = shift_pitch(y, sr, semitones, factor, spectrum)
    y, noise = add_random_noise(y, rng, noise_clips, p)
    if p.reverb_prob and rng.random() < p.reverb_prob:
        y = reverberate(y, room_response(sr, rng.uniform(*p.rt60), rng))
    if p.band_prob and rng.random() < p.band_prob:
        y = band_limit(y, sr, rng.uniform(*p.band_low_hz), rng.uniform(*p.band_high_hz))
    return y, noise


def add_random_noise(
    y: np.ndarray, rng: np.random.Generator, noise_clips: Sequence[np.ndarray], p: AugmentParams
) -> tuple[np.ndarray, str]:
    """`y` with, at probability `p.noise_prob`, babble or white noise as `perturb` describes, and its kind."""
    if not p.noise_prob or rng.random() >= p.noise_prob:
        return y, ""
    if len(noise_clips) > 0 and rng.random() < p.babble_share:
        low, high = p.talkers
        count = low if low == high else int(rng.integers(low, high + 1))
        noise = babble(noise_clips, len(y), rng, count)
        below = 10 * np.log10(min(count, len(noise_clips))) if p.babble_snr == "per_talker" else 0.0
        return add_noise(y, noise, rng.uniform(*p.snr_db) - below), "babble"
    return add_noise(y, white_noise(len(y), rng), rng.uniform(*p.snr_db)), "white"


def spec_augment(x: np.ndarray, rng: np.random.Generator, p: SpecAugmentParams) -> np.ndarray:
    """A copy of the batch `x (batch, coefficients, frames)` with random time shifts and masks.

    Each matrix is rolled by up to `± p.shift` frames, then gets `p.time_masks` bands of up to
    `p.time_width` frames and `p.freq_masks` bands of up to `p.freq_width` coefficients set to zero
    (the per-utterance mean, since features are normalised).
    """
    x = x.copy()
    batch, coefficients, frames = x.shape
    for i in range(batch):
        if p.shift:
            x[i] = np.roll(x[i], rng.integers(-p.shift, p.shift + 1), axis=1)
        for _ in range(p.time_masks):
            width = rng.integers(0, p.time_width + 1)
            start = rng.integers(0, frames - width + 1)
            x[i, :, start : start + width] = 0
        for _ in range(p.freq_masks):
            width = rng.integers(0, p.freq_width + 1)
            start = rng.integers(0, coefficients - width + 1)
            x[i, start : start + width, :] = 0
    return x


def long_term_spectrum(clips: list[np.ndarray], n_fft: int = 512) -> np.ndarray:
    """Mean power spectrum (`n_fft // 2 + 1` bins) of `clips`, each level-normalised first."""
    speech = np.concatenate([y / (y.std() + 1e-9) for y in clips])
    return np.mean(np.abs(librosa.stft(speech, n_fft=n_fft, hop_length=n_fft // 2, center=False)) ** 2, axis=1)


def coloured_noise(power: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of Gaussian noise whose power spectrum has the shape of `power` (bins 0 … Nyquist)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    gain = np.sqrt(np.interp(np.linspace(0, 1, len(spectrum)), np.linspace(0, 1, len(power)), power))
    return np.fft.irfft(spectrum * gain, n).astype(np.float32)


NOISE_KINDS = ("white", "speech_shaped", "babble")


def noisy_batch(
    clips: list[np.ndarray], kind: str, snr_db: float, pool: list[np.ndarray], rng: np.random.Generator, talkers: int
) -> list[np.ndarray]:
    """`clips` each mixed with `kind` noise at `snr_db`: `white`, or `speech_shaped` (the spectrum of `pool`), or
    `babble` of `talkers` clips of `pool`."""
    if kind == "white":
        return [add_noise(y, white_noise(len(y), rng), snr_db) for y in clips]
    if kind == "speech_shaped":
        power = long_term_spectrum(pool)
        return [add_noise(y, coloured_noise(power, len(y), rng), snr_db) for y in clips]
    if kind == "babble":
        return [add_noise(y, babble(pool, len(y), rng, talkers), snr_db) for y in clips]
    raise ValueError(f"unknown noise kind {kind!r}; choose from {', '.join(NOISE_KINDS)}")
