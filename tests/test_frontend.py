import json
from dataclasses import replace

import librosa
import numpy as np
import pytest
import soundfile as sf

from digits.dsp import equal_frames, log_mel, mel_filterbank, resample, to_mono
from digits.features import FeatureParams, extract, extract_batch, extract_views, trim_bounds, trim_silence
from digits.frontends import FRONTENDS, front_end
from digits.frontends.mfcc import delta, fix_frames, fixed_length, mfcc, resize_frames, summary_vector
from digits.params import FeaturesParams
from tests.conftest import FSDD, params_of
from tests.corpus import synth_clip

P = replace(FeatureParams.of(params_of(FeaturesParams)), test_speeds=())
S = P.settings  # MFCC's own params


def with_mfcc(p: FeatureParams, **changes: object) -> FeatureParams:
    """`p` with `changes` to its MFCC settings."""
    return replace(p, settings=replace(p.settings, **changes))


def close(a: np.ndarray, b: np.ndarray) -> float:
    """Relative error of `a` against `b`."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_extract_gives_fixed_shapes_whatever_the_length() -> None:
    for p in (P, replace(P, test_speeds=(0.9, 1.1))):
        for seconds in (0.01, 0.3, 2.5):
            matrix, summary = extract(np.random.default_rng(0).normal(0, 0.1, int(8000 * seconds)), 8000, p)
            assert matrix.shape == (len(p.speeds), S.n_mfcc, S.frames)
            assert summary.shape == (len(p.speeds), p.summary_size)
            assert np.isfinite(matrix).all() and np.isfinite(summary).all()


def tone(hz: float, seconds: float) -> np.ndarray:
    """A sine at `hz` with 50 ms fades, at 8 kHz."""
    t = np.arange(int(8000 * seconds)) / 8000
    fade = np.minimum(1, np.minimum(t, seconds - t) / 0.05)
    return (0.5 * fade * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_a_test_view_is_the_clip_played_at_its_speed() -> None:
    """At half speed, a 1 kHz tone of 0.3 s sounds like a 500 Hz tone of 0.6 s; view 0 is the clip itself."""
    p = with_mfcc(replace(P, test_speeds=(0.5,)), length="crop", frames=64)
    matrices, summaries = extract_views([(tone(1000, 0.3), 8000)], p)
    slow_summary = extract_batch([(tone(500, 0.6), 8000)], p)[1]
    assert close(summaries[0, 1], slow_summary[0]) < 0.05 < close(summaries[0, 0], slow_summary[0])
    np.testing.assert_array_equal(matrices[0, 0], extract_batch([(tone(1000, 0.3), 8000)], p)[0][0])


def test_feature_params_survive_json_with_their_test_speeds() -> None:
    p = replace(P, test_speeds=[0.9, 1.1])
    stored = json.loads(json.dumps(p.to_dict()))
    assert stored["test_speeds"] == [0.9, 1.1] and stored == p.to_dict()
    assert FeatureParams.from_dict(stored) == p and p.speeds == (1.0, 0.9, 1.1)


def test_stored_params_hold_only_their_front_ends_own() -> None:
    """An MFCC table stores `mfcc`'s params and no other front end's; the old flat keys are refused."""
    stored = P.to_dict()
    assert stored["mfcc"] == params_of(FeaturesParams).mfcc.model_dump() and "speech_embedding" not in stored
    with pytest.raises(ValueError, match="not the feature params of this version"):
        FeatureParams.from_dict({**stored, "speech_embedding": {"steps": 7}})
    with pytest.raises(ValueError, match="not the feature params of this version"):
        FeatureParams.from_dict({k: v for k, v in stored.items() if k != "mfcc"} | stored["mfcc"])


def test_every_front_end_has_the_registrys_interface() -> None:
    features = params_of(FeaturesParams)
    for name in FRONTENDS:
        module = front_end(name)
        settings = module.Settings(**getattr(features, name).model_dump())
        assert module.__name__ == f"digits.frontends.{name}" and module.features.__doc__
        assert len(module.matrix_shape(settings)) == 2 and module.summary_size(settings) > 0
        assert isinstance(module.SPEC_AUGMENT, bool) and isinstance(module.PRETRAINED, bool)
    with pytest.raises(ValueError, match="unknown front end 'wav2vec'"):
        front_end("wav2vec")


def clips() -> list[np.ndarray]:
    """Synthetic takes, plus some real FSDD clips when the shared copy is there."""
    ys = [synth_clip(d, d % 3, d) for d in range(10)]
    real = sorted(FSDD.glob("*.wav"))[::150] if FSDD.is_dir() else []
    return ys + [sf.read(path, dtype="float32")[0] for path in real]


MEL = {"sr": 8000, "n_fft": P.n_fft, "hop_length": P.hop_length, "n_mels": S.n_mels, "fmin": S.fmin, "fmax": S.fmax}
BANDS = (P.sample_rate, P.n_fft, P.hop_length, S.n_mels, S.fmin, S.fmax)


def test_mel_filterbank_is_librosas() -> None:
    expected = librosa.filters.mel(sr=8000, n_fft=P.n_fft, n_mels=S.n_mels, fmin=S.fmin, fmax=S.fmax)
    got = mel_filterbank(P.sample_rate, P.n_fft, S.n_mels, S.fmin, S.fmax)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)


def test_log_mel_mfcc_and_delta_are_librosas() -> None:
    """The numpy front end computes what librosa computes, to float32 rounding."""
    for y in clips():
        expected = librosa.power_to_db(librosa.feature.melspectrogram(y=y, **MEL))
        np.testing.assert_allclose(log_mel(y, *BANDS), expected, rtol=0, atol=2e-3)
        m = librosa.feature.mfcc(y=y, n_mfcc=S.n_mfcc, **MEL)
        np.testing.assert_allclose(mfcc(y, P), m, rtol=0, atol=2e-3)
        np.testing.assert_allclose(delta(m, 9), librosa.feature.delta(m, width=9, mode="nearest"), atol=1e-4)


def test_trim_silence_cuts_where_librosa_does() -> None:
    for y in clips():
        expected, _ = librosa.effects.trim(y, top_db=P.trim_db, frame_length=P.n_fft, hop_length=P.hop_length)
        assert np.array_equal(trim_silence(y, P), expected if len(expected) >= P.n_fft else y)


def test_resample_is_librosas_soxr_hq() -> None:
    y = synth_clip(6, 1, 2)
    for rate in (11025, 16000, 44100, 48000):
        expected = librosa.resample(y, orig_sr=8000, target_sr=rate, res_type="soxr_hq")
        got = resample(y, 8000, rate)
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_a_batch_of_equal_length_clips_gives_each_clips_mfcc() -> None:
    batch = np.stack([synth_clip(d, 0, 0)[:2400] for d in range(4)])
    np.testing.assert_allclose(mfcc(batch, P), np.stack([mfcc(y, P) for y in batch]), atol=1e-4)


def test_stereo_is_downmixed() -> None:
    y = synth_clip(5, 1, 2)
    stereo = np.stack([y, y], axis=1)
    assert to_mono(stereo).shape == y.shape
    for a, b in zip(extract(stereo, 8000, P), extract(y, 8000, P), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_other_sample_rates_give_nearly_the_same_features() -> None:
    y = synth_clip(2, 0, 1)
    y44 = resample(y, 8000, 44100)
    assert close(extract(y44, 44100, P)[1], extract(y, 8000, P)[1]) < 0.05


def test_silence_around_the_clip_is_trimmed() -> None:
    y = synth_clip(8, 2, 3)
    padded = np.concatenate([np.zeros(4000, np.float32), y, np.zeros(8000, np.float32)])
    assert close(extract(padded, 8000, P)[1], extract(y, 8000, P)[1]) < 0.05


def test_features_tell_digits_apart() -> None:
    """Summaries of the same digit by two speakers are closer than those of two digits."""
    same = close(extract(synth_clip(4, 0, 0), 8000, P)[1], extract(synth_clip(4, 1, 1), 8000, P)[1])
    other = close(extract(synth_clip(4, 0, 0), 8000, P)[1], extract(synth_clip(7, 0, 0), 8000, P)[1])
    assert same < other


@pytest.mark.parametrize(
    ("frames", "expected"),
    [(4, [2, 3, 4, 5]), (6, [1, 2, 3, 4, 5, 6]), (8, [0, 1, 2, 3, 4, 5, 6, 0]), (9, [0, 1, 2, 3, 4, 5, 6, 0, 0])],
)
def test_fix_frames_centre_crops_or_pads(frames: int, expected: list[int]) -> None:
    m = np.arange(1, 7, dtype=np.float32)[None, :]
    assert fix_frames(m, frames)[0].tolist() == expected


def test_summary_vector_layout() -> None:
    m = np.vstack([np.linspace(0, 1, 30), np.ones(30)]).astype(np.float32)
    s = summary_vector(m, segments=3)
    assert s.shape == (2 * 7,)
    np.testing.assert_allclose(s[:2], [0.5, 1.0], atol=1e-6)  # means
    assert s[2] > 0 and s[3] == 0  # std of the ramp, of the constant
    np.testing.assert_allclose(s[8:14:2], [m[0, :10].mean(), m[0, 10:20].mean(), m[0, 20:].mean()], atol=1e-6)


@pytest.mark.parametrize("length", [3, 32, 57, 400])
def test_resize_frames_interpolates_each_row_linearly(length: int) -> None:
    m = np.random.default_rng(length).normal(size=(4, length)).astype(np.float32)
    resized = resize_frames(m, 32)
    position = np.linspace(0, length - 1, 32)
    expected = np.stack([np.interp(position, np.arange(length), row) for row in m])
    assert resized.shape == (4, 32) and np.allclose(resized, expected, atol=1e-6)
    assert resized[0, 0] == m[0, 0] and resized[0, -1] == pytest.approx(m[0, -1])


def test_length_policy_is_chosen_by_params() -> None:
    m = np.tile(np.arange(40, dtype=np.float32), (2, 1))
    assert fixed_length(m, replace(S, frames=20, length="crop"))[0, 0] == 10
    assert fixed_length(m, replace(S, frames=20, length="resize"))[0, -1] == 39
    with pytest.raises(ValueError, match="unknown length policy"):
        fixed_length(m, replace(S, length="stretch"))


def test_a_batch_of_any_clips_gives_each_what_it_gets_alone() -> None:
    """extract_batch groups clips by frame count; each clip's features equal a batch of one."""
    rng = np.random.default_rng(0)
    batch = [(y, 8000) for y in clips()]
    batch += [(rng.normal(0, 0.1, n).astype(np.float32), 8000) for n in (0, 1, 100, 255, 256, 257, 80 * 40)]
    batch += [(np.stack([synth_clip(1, 2, 3)] * 2, axis=1), 8000), (resample(synth_clip(9, 1, 1), 8000, 44100), 44100)]
    batch += batch[:5]  # same lengths as earlier clips: groups of several
    matrices, summaries = extract_batch(batch, P)
    assert matrices.shape == (len(batch), S.n_mfcc, S.frames) and summaries.shape == (len(batch), P.summary_size)
    for (y, sr), matrix, summary in zip(batch, matrices, summaries, strict=True):
        alone_matrix, alone_summary = extract(y, sr, P)
        np.testing.assert_allclose(matrix, alone_matrix[0], atol=1e-4)
        np.testing.assert_allclose(summary, alone_summary[0], rtol=1e-5, atol=1e-3)


def test_trim_bounds_of_a_batch_are_each_clips() -> None:
    ys = [synth_clip(d, 0, t)[: 80 * 50 + t] for d in range(10) for t in range(3)]  # 50 frames each
    lengths = np.array([len(y) for y in ys])
    batch = np.stack([np.pad(y, (0, lengths.max() - len(y))) for y in ys])
    starts, stops = trim_bounds(batch, lengths, P)
    for y, start, stop in zip(ys, starts, stops, strict=True):
        assert np.array_equal(y[start:stop], trim_silence(y, P))


def test_equal_frames_groups_clips_by_frame_count_in_capped_groups() -> None:
    lengths = np.array([800, 805, 1600, 879, 1650, 800, 800, 100])
    groups = equal_frames(lengths, 80, most=2)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths)))
    for group in groups:
        assert 1 <= len(group) <= 2 and len(set(lengths[group] // 80)) == 1
    assert len(groups) == 5  # 10 frames: 5 clips in 3 groups; 20 frames: 2 clips; 1 frame: 1
