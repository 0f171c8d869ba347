"""Augmentation and noise: exact SNRs, the effects they claim, and seeded reproducibility."""

import librosa
import numpy as np
import pytest

from digits.params import AugmentParams, SpecAugmentParams
from digits.perturb import (
    VOCODER_FFT,
    VOCODER_HOP,
    add_noise,
    babble,
    band_limit,
    change_speed,
    istft,
    perturb,
    phase_vocoder,
    reverberate,
    room_response,
    shift_pitch,
    spec_augment,
    vocoder_spectrum,
    white_noise,
)
from tests.conftest import params_of
from tests.corpus import synth_clip

NONE = {"speed": 0.0, "pitch": 0.0, "noise_prob": 0.0, "reverb_prob": 0.0, "band_prob": 0.0}  # no perturbation at all


def settings(**changes: object) -> AugmentParams:
    """The augment params with `changes`."""
    return params_of(AugmentParams, **changes)


def masks(**changes: int) -> SpecAugmentParams:
    """SpecAugment params: nothing but `changes`."""
    return SpecAugmentParams(
        **{"shift": 0, "time_masks": 0, "time_width": 0, "freq_masks": 0, "freq_width": 0, **changes}
    )


@pytest.mark.parametrize("snr_db", [20.0, 5.0, 0.0, -5.0])
def test_add_noise_hits_the_requested_snr(snr_db: float) -> None:
    rng = np.random.default_rng(0)
    y = synth_clip(3, 0, 0)
    noisy = add_noise(y, white_noise(len(y), rng), snr_db)
    measured = 10 * np.log10(np.mean(y**2) / np.mean((noisy - y) ** 2))
    assert measured == pytest.approx(snr_db, abs=0.01)


def test_babble_is_level_matched_speech_of_the_requested_length() -> None:
    clips = [synth_clip(d, 1, 0) for d in range(10)]
    noise = babble(clips, 5000, np.random.default_rng(0), talkers=4)
    assert noise.shape == (5000,) and noise.dtype == np.float32
    assert 1.0 < noise.std() < 4.0  # four unit-variance talkers, partly cancelling
    assert not np.array_equal(noise, babble(clips, 5000, np.random.default_rng(1), talkers=4))


def test_change_speed_shortens_or_lengthens_and_shift_pitch_keeps_duration() -> None:
    y = synth_clip(5, 0, 0)
    assert len(change_speed(y, 8000, 1.25)) == pytest.approx(len(y) / 1.25, abs=2)
    assert len(change_speed(y, 8000, 0.8)) == pytest.approx(len(y) / 0.8, abs=2)
    shifted = shift_pitch(y, 8000, 2.0)
    assert len(shifted) == len(y) and not np.allclose(shifted, y, atol=1e-3)


@pytest.mark.parametrize("semitones", [-2.0, 3.0])
def test_pitch_shift_by_resampling_moves_the_spectrum_as_the_vocoder_does(semitones: float) -> None:
    """Both methods move a tone by the same interval; only the vocoder keeps the duration."""
    t = np.arange(4000) / 8000
    y = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    p = settings(speed=0.0, pitch=abs(semitones), noise_prob=0.0)
    rng = np.random.default_rng(0)
    drawn = rng.uniform(-p.pitch, p.pitch)  # what perturb draws with the same seed
    out = {}
    for method in ("vocoder", "resample"):
        out[method], _ = perturb(y, 8000, np.random.default_rng(0), [], p.model_copy(update={"pitch_shift": method}))
        spectrum = np.abs(np.fft.rfft(out[method] * np.hanning(len(out[method]))))
        assert np.argmax(spectrum) * 8000 / len(out[method]) == pytest.approx(500 * 2 ** (drawn / 12), rel=0.02)
    assert len(out["vocoder"]) == len(y)
    assert len(out["resample"]) == pytest.approx(len(y) / 2 ** (drawn / 12), abs=2)


@pytest.mark.parametrize("rate", [0.8, 1.0, 1.17])
def test_phase_vocoder_is_librosas_without_the_loop(rate: float) -> None:
    spectrum = librosa.stft(synth_clip(4, 1, 0), n_fft=256, hop_length=64)
    expected = librosa.phase_vocoder(spectrum, rate=rate, hop_length=64, n_fft=256)
    assert np.allclose(phase_vocoder(spectrum, rate, 64), expected, atol=1e-3 * np.abs(expected).max())


@pytest.mark.parametrize("length", [100, 3000, 9001, 20000])  # shorter than the first frames, .., many blocks
def test_istft_is_librosas_to_the_bit(length: int) -> None:
    y = np.random.default_rng(length).standard_normal(length * 3 // 2 + 300).astype(np.float32)
    spectrum = phase_vocoder(vocoder_spectrum(y), 0.9, VOCODER_HOP)
    expected = librosa.istft(spectrum, hop_length=VOCODER_HOP, n_fft=VOCODER_FFT, length=length)
    got = istft(spectrum, VOCODER_HOP, length)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_the_copies_of_a_clip_may_share_its_spectrum() -> None:
    y, pool = synth_clip(3, 0, 0), [synth_clip(d, 1, 0) for d in range(4)]
    p = settings(pitch_shift="vocoder")
    for seed in range(4):
        alone, noise = perturb(y, 8000, np.random.default_rng(seed), pool, p)
        shared, same_noise = perturb(y, 8000, np.random.default_rng(seed), pool, p, vocoder_spectrum(y))
        assert np.array_equal(alone, shared) and noise == same_noise


def tone(hz: float, n: int = 8000) -> np.ndarray:
    """One second of a unit sine at `hz` at 8 kHz."""
    return np.sin(2 * np.pi * hz * np.arange(n) / 8000).astype(np.float32)


def test_band_limit_passes_the_band_and_cuts_either_side() -> None:
    def gain(hz: float, low: float, high: float) -> float:
        return float(band_limit(tone(hz), 8000, low, high)[4000:].std() / tone(hz)[4000:].std())

    assert gain(1000, 300, 3000) > 0.95
    assert gain(60, 300, 3000) < 0.1 and gain(3800, 300, 3000) < 0.3
    assert gain(3800, 300, 4000) > 0.95 and gain(60, 300, 4000) < 0.1  # at Nyquist: a high-pass only


def test_a_room_adds_a_decaying_tail_at_the_clips_level() -> None:
    h = room_response(8000, 0.3, np.random.default_rng(0))
    assert len(h) == 2400 and h[0] == h.max() and np.sum(h**2) == pytest.approx(1.0, rel=1e-5)
    first, last = np.sqrt(np.mean(h[1:241] ** 2)), np.sqrt(np.mean(h[-240:] ** 2))
    assert 20 * np.log10(first / last) > 40  # 60 dB over the whole response
    y = synth_clip(2, 0, 0)
    wet = reverberate(y, h)
    assert len(wet) == len(y) + len(h) - 1 and np.abs(wet).max() == pytest.approx(np.abs(y).max(), rel=1e-5)
    assert np.abs(wet[len(y) :]).max() > 0.01 * np.abs(y).max()


@pytest.mark.parametrize("changes", [{"reverb_prob": 1.0}, {"band_prob": 1.0}])
def test_each_channel_setting_changes_every_copy(changes: dict) -> None:
    y = synth_clip(7, 0, 0)
    for seed in range(3):
        plain, _ = perturb(y, 8000, np.random.default_rng(seed), [], settings(**NONE))
        coloured, _ = perturb(y, 8000, np.random.default_rng(seed), [], settings(**{**NONE, **changes}))
        assert len(coloured) >= len(plain) and not np.allclose(coloured[: len(plain)], plain, atol=1e-3)


def test_perturb_is_seeded_and_zero_settings_change_nothing() -> None:
    y, pool = synth_clip(7, 0, 0), [synth_clip(d, 0, 1) for d in range(10)]
    p = settings(speed=0.15, pitch=2.0, noise_prob=1.0, snr_db=(0, 30), reverb_prob=0.5, band_prob=0.5)
    first, noise = perturb(y, 8000, np.random.default_rng([1, 2]), pool, p)
    again, _ = perturb(y, 8000, np.random.default_rng([1, 2]), pool, p)
    other, _ = perturb(y, 8000, np.random.default_rng([1, 3]), pool, p)
    assert np.array_equal(first, again) and not np.array_equal(first, other) and noise in ("white", "babble")
    unchanged, noise = perturb(y, 8000, np.random.default_rng(0), pool, settings(**NONE))
    assert np.array_equal(unchanged, y) and noise == ""


def test_perturb_mixes_babble_or_white_noise_by_share() -> None:
    y, pool = synth_clip(7, 0, 0), [synth_clip(d, 0, 1) for d in range(10)]
    kinds = [
        perturb(
            y, 8000, np.random.default_rng(seed), pool, settings(noise_prob=1.0, babble_share=share, talkers=(1, 6))
        )[1]
        for share in (0.0, 1.0)
        for seed in range(5)
    ]
    assert kinds == ["white"] * 5 + ["babble"] * 5
    assert perturb(y, 8000, np.random.default_rng(0), [], settings(noise_prob=1.0, babble_share=1.0))[1] == "white"


@pytest.mark.parametrize(
    ("babble_snr", "talkers", "expected_db"),
    [("total", 4, 6.0), ("per_talker", 4, 6.0 - 10 * np.log10(4)), ("per_talker", 1, 6.0)],
)
def test_babble_snr_is_of_the_whole_babble_or_each_talker(babble_snr: str, talkers: int, expected_db: float) -> None:
    y, pool = synth_clip(7, 0, 0), [synth_clip(d, 0, 1) for d in range(10)]
    p = settings(speed=0.0, pitch=0.0, noise_prob=1.0, babble_share=1.0, snr_db=(6.0, 6.0), talkers=(talkers, talkers))
    noisy, kind = perturb(y, 8000, np.random.default_rng(0), pool, p.model_copy(update={"babble_snr": babble_snr}))
    measured = 10 * np.log10(np.mean(y**2) / np.mean((noisy - y) ** 2))
    assert kind == "babble" and measured == pytest.approx(expected_db, abs=0.01)


def test_spec_augment_masks_within_limits_and_leaves_the_input_alone() -> None:
    x = np.ones((50, 20, 32), np.float32)
    masked = spec_augment(x, np.random.default_rng(0), masks(time_masks=1, time_width=4, freq_masks=1, freq_width=3))
    assert np.all(x == 1)
    zero_frames = (masked == 0).all(axis=1).sum(axis=1)
    zero_coefficients = (masked == 0).all(axis=2).sum(axis=1)
    assert zero_frames.max() <= 4 and zero_coefficients.max() <= 3
    assert zero_frames.sum() > 0 and zero_coefficients.sum() > 0


def test_spec_augment_shift_rolls_in_time() -> None:
    """Every matrix is rolled by an offset within ± shift, and the offsets vary (0 alone would be no shift)."""
    x = np.arange(32, dtype=np.float32)[None, None].repeat(20, axis=1).repeat(40, axis=0)
    rolled = spec_augment(x, np.random.default_rng(3), masks(shift=3))
    offsets = [int(np.argmin(matrix[0])) for matrix in rolled]
    assert all(np.array_equal(m, np.roll(x[0], offset, axis=1)) for m, offset in zip(rolled, offsets, strict=True))
    assert {(offset + 3) % 32 for offset in offsets} == set(range(7))  # every offset of -3 ... 3 drawn
