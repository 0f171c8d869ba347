"""Perturbations for training-time augmentation and noise tests, all seeded by the caller's generator.

Waveform functions take and return mono float32 audio; `spec_augment` takes a batch of feature
matrices `(batch, coefficients, frames)`. Nothing here is used on evaluation clips except
`add_noise`, `white_noise` and `babble`, which the `noise` stage also uses to corrupt the test split.
"""

from __future__ import annotations

from collections.abc import Sequence

import librosa
import numpy as np

from stages.frontend import resample

BABBLE_SNR = ("total", "per_talker")  # what `perturb`'s SNR is measured against, for babble


def add_noise(y: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`y` plus `noise` (same length) scaled to a signal-to-noise ratio of `snr_db` decibels."""
    signal_power = np.mean(y**2) + 1e-12
    noise_power = np.mean(noise**2) + 1e-12
    scale = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return (y + scale * noise).astype(np.float32)


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of unit-variance Gaussian white noise."""
    return rng.standard_normal(n).astype(np.float32)


def babble(clips: Sequence[np.ndarray], n: int, rng: np.random.Generator, talkers: int = 5) -> np.ndarray:
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


def shift_pitch(y: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    """Shift the pitch and formants of `y` by `semitones` at constant duration."""
    if len(y) < 256:
        return y
    return librosa.effects.pitch_shift(y, sr=sr, n_steps=semitones, n_fft=256, hop_length=64).astype(np.float32)


def perturb(
    y: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    noise_clips: Sequence[np.ndarray],
    speed: float = 0.0,
    pitch: float = 0.0,
    noise_prob: float = 0.0,
    snr_db: Sequence[float] = (0.0, 30.0),
    babble_share: float = 0.5,
    talkers: Sequence[int] = (5, 5),
    babble_snr: str = "total",
) -> tuple[np.ndarray, str]:
    """One random perturbation of `y` and the noise mixed into it (`""`, `"white"` or `"babble"`).

    Speed factor uniform in `1 ± speed`, pitch shift uniform in `± pitch` semitones, then with
    probability `noise_prob` noise at an SNR uniform in `snr_db`: with probability `babble_share`
    babble of `talkers` (uniform in that range) of `noise_clips`, else white noise. With `babble_snr`
    `per_talker` that SNR is the clip's against each talker alone, so that `y` stays the loudest voice
    whatever the number of talkers (k talkers at a per-talker SNR s make a total SNR of s - 10 log10 k);
    with `total` it is against the whole babble. A zero setting leaves that perturbation out.
    """
    if speed:
        y = change_speed(y, sr, rng.uniform(1 - speed, 1 + speed))
    if pitch:
        y = shift_pitch(y, sr, rng.uniform(-pitch, pitch))
    if not noise_prob or rng.random() >= noise_prob:
        return y, ""
    if len(noise_clips) > 0 and rng.random() < babble_share:
        count = talkers[0] if talkers[0] == talkers[1] else int(rng.integers(talkers[0], talkers[1] + 1))
        noise = babble(noise_clips, len(y), rng, count)
        below = 10 * np.log10(min(count, len(noise_clips))) if babble_snr == "per_talker" else 0.0
        return add_noise(y, noise, rng.uniform(*snr_db) - below), "babble"
    return add_noise(y, white_noise(len(y), rng), rng.uniform(*snr_db)), "white"


def spec_augment(
    x: np.ndarray,
    rng: np.random.Generator,
    shift: int = 0,
    time_masks: int = 0,
    time_width: int = 0,
    freq_masks: int = 0,
    freq_width: int = 0,
) -> np.ndarray:
    """A copy of the batch `x (batch, coefficients, frames)` with random time shifts and masks.

    Each matrix is rolled by up to `± shift` frames, then gets `time_masks` bands of up to
    `time_width` frames and `freq_masks` bands of up to `freq_width` coefficients set to zero
    (the per-utterance mean, since features are normalised).
    """
    x = x.copy()
    batch, coefficients, frames = x.shape
    for i in range(batch):
        if shift:
            x[i] = np.roll(x[i], rng.integers(-shift, shift + 1), axis=1)
        for _ in range(time_masks):
            width = rng.integers(0, time_width + 1)
            start = rng.integers(0, frames - width + 1)
            x[i, :, start : start + width] = 0
        for _ in range(freq_masks):
            width = rng.integers(0, freq_width + 1)
            start = rng.integers(0, coefficients - width + 1)
            x[i, start : start + width, :] = 0
    return x
