"""The noise stage's test noises: speech-shaped noise has the spectrum of its speech and no words."""

import numpy as np
import pytest

from digits.perturb import coloured_noise, long_term_spectrum, noisy_batch


def test_long_term_spectrum_peaks_where_the_speech_has_its_energy() -> None:
    t = np.arange(4000) / 8000
    clips = [np.sin(2 * np.pi * 1000 * t).astype(np.float32), 0.1 * np.sin(2 * np.pi * 1000 * t[:3000])]
    power = long_term_spectrum(clips, n_fft=512)
    assert power.shape == (257,)
    assert power.argmax() == 64  # 1000 Hz of 4000 Hz Nyquist, in 256 bins


def test_coloured_noise_follows_the_power_spectrum_it_is_given() -> None:
    low_pass = np.r_[np.ones(100), np.full(157, 1e-6)]
    noise = coloured_noise(low_pass, 16000, np.random.default_rng(0))
    assert noise.shape == (16000,) and noise.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    cut = len(spectrum) * 100 // 257
    assert spectrum[:cut].mean() > 1e4 * spectrum[cut + 100 :].mean()
    assert not np.array_equal(noise, coloured_noise(low_pass, 16000, np.random.default_rng(1)))


@pytest.mark.parametrize("kind", ["white", "speech_shaped", "babble"])
def test_noisy_batch_mixes_each_clip_at_the_snr(kind: str) -> None:
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (3000, 5000)]
    pool = [rng.standard_normal(4000).astype(np.float32) for _ in range(6)]
    for clean, noisy in zip(clips, noisy_batch(clips, kind, 5.0, pool, rng, 5), strict=True):
        snr = 10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))
        assert snr == pytest.approx(5.0, abs=0.01)


def test_noisy_batch_names_the_kinds_it_knows() -> None:
    with pytest.raises(ValueError, match="speech_shaped"):
        noisy_batch([np.ones(100, np.float32)], "pink", 0.0, [], np.random.default_rng(0), 5)
