"""Non-digits for the refusal "no digit heard": the generated signals, the words, and the threshold maths."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from digits.negatives import (
    KINDS,
    NEAR_DIGITS,
    SIGNALS,
    VOCABULARY,
    render,
    split_vocabulary,
    word_voices,
    write_signals,
    write_words,
)
from digits.openset import SOUNDS_LIKE, choose_threshold, digit_score, error_rates, refusal, signal_classes
from digits.params import NegativesParams, SynthParams
from digits.predict import heard, recognised
from digits.synth import WORDS
from digits.whisper_head import Reading
from tests.conftest import params_of

SR = 8000


@pytest.mark.parametrize("kind", list(SIGNALS))
def test_each_signal_is_seeded_bounded_and_not_silent(kind: str) -> None:
    clips = [render(kind, np.random.default_rng(seed), SR, (0.3, 2.0)) for seed in range(20)]
    again = render(kind, np.random.default_rng(0), SR, (0.3, 2.0))
    assert np.array_equal(clips[0], again) and not np.array_equal(clips[0], clips[1])
    for y in clips:
        assert y.dtype == np.float32 and 0.3 * SR <= len(y) <= 2.6 * SR
        assert np.all(np.isfinite(y)) and 10 ** (-41 / 20) < np.max(np.abs(y)) <= 1


def spectrum_flatness(y: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(y)) ** 2 + 1e-20
    return float(np.exp(np.mean(np.log(power))) / np.mean(power))


def test_the_kinds_are_what_they_say() -> None:
    """Noise is spectrally flat-ish, a tone is not; DC has its energy at 0 Hz; clicks are sparse in time."""
    rng = np.random.default_rng(0)
    n = SR
    assert spectrum_flatness(SIGNALS["noise"](rng, n, SR)) > 100 * spectrum_flatness(SIGNALS["tone"](rng, n, SR))
    dc = SIGNALS["dc"](np.random.default_rng(1), n, SR)
    assert abs(dc.mean()) > 10 * dc.std() or abs(dc[: n // 4].mean()) > 0.9
    click = np.abs(SIGNALS["clicks"](np.random.default_rng(2), n, SR))
    assert np.mean(click > 0.01 * click.max()) < 0.5


def test_the_vocabulary_holds_no_digit_and_its_test_words_are_never_trained_on() -> None:
    homophones = {"oh", "o", "won", "to", "too", "for", "fore", "ate", "nein"}
    assert not (set(VOCABULARY) & (set(WORDS) | homophones)) and len(set(VOCABULARY)) == len(VOCABULARY)
    assert not set(NEAR_DIGITS) & (set(WORDS) | homophones | set(VOCABULARY))  # so never a val or test word
    split = split_vocabulary(0.15, 0.25, 7)
    train, val, test = (set(split[s]) for s in ("train", "val", "test"))
    assert not train & val and not train & test and not val & test and train | val | test == set(VOCABULARY)
    assert len(test) == round(0.25 * len(VOCABULARY)) and len(val) == round(0.15 * len(VOCABULARY))
    assert split_vocabulary(0.15, 0.25, 8)["test"] != split["test"]
    assert split_vocabulary(0.05, 0.25, 7)["test"] == split["test"]  # a val share changes no test word


def test_val_and_test_words_are_said_by_voices_training_never_hears() -> None:
    p = params_of(NegativesParams, voices={"espeak-ng": 16, "flite": 4, "festival": 0}, val_share=0.2, test_share=0.25)
    voices = word_voices(p, params_of(SynthParams))
    train, val, test = ({v.name for v in voices[split]} for split in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (11, 4, 5)
    assert not train & val and not train & test and not val & test


@pytest.mark.parametrize("near_digits", [True, False])
def test_near_digit_words_are_said_in_training_only(tmp_path: Path, near_digits: bool) -> None:
    voices = {"espeak-ng": 8, "flite": 0, "festival": 0}  # 5 train, 1 val (its 25 words), 2 test voices
    p = params_of(NegativesParams, voices=voices, words_per_voice=30, near_digits=near_digits)
    assert sum(write_words(p, params_of(SynthParams), tmp_path)) == 5 * 30 + 25 + 2 * 30
    said = {
        split: {path.stem.rsplit("_", 1)[1] for path in (tmp_path / split / "word").glob("*.wav")}
        for split in ("train", "val", "test")
    }
    assert bool(said["train"] & set(NEAR_DIGITS)) == near_digits
    assert not (said["val"] | said["test"]) & (said["train"] | set(NEAR_DIGITS))


def test_signals_are_written_per_split_and_kind(tmp_path: Path) -> None:
    p = params_of(NegativesParams, clips=3, val_clips=2, test_clips=1)
    assert write_signals(p, SR, tmp_path) == 6 * len(SIGNALS)
    for kind in SIGNALS:
        train, val, test = (sorted((tmp_path / s / kind).glob("*.wav")) for s in ("train", "val", "test"))
        assert (len(train), len(val), len(test)) == (3, 2, 1)
        assert sf.info(train[0]).samplerate == SR and sf.info(train[0]).subtype == "PCM_16"
        firsts = [sf.read(clips[0])[0][:100].tobytes() for clips in (train, val, test)]
        assert len(set(firsts)) == 3  # each split its own seeds


def test_every_kind_has_a_reason() -> None:
    assert set(SOUNDS_LIKE) == set(KINDS)


def test_the_threshold_refuses_at_most_the_share_asked() -> None:
    scores = np.linspace(0.5, 1.0, 250)  # shares of 250 that are not whole clips: floor, not round or ceil
    for share in (0.0, 0.005, 0.01, 0.1):
        threshold = choose_threshold(scores, share)
        refused = np.mean(scores < threshold)
        assert refused <= share and refused > share - 1 / len(scores)
    rates = error_rates(scores, np.array([0.1, 0.6, 0.99]), choose_threshold(scores, 0.1))
    assert rates["false_refusals"] == 25 and rates["false_accepts"] == 2 and rates["false_accept_rate"] == 0.6667


def test_a_clip_is_refused_with_the_kind_it_sounds_like() -> None:
    labels = [*map(str, range(10)), *KINDS]
    probabilities = np.zeros(len(labels))
    probabilities[3], probabilities[10 + KINDS.index("tone")] = 0.3, 0.4
    probabilities[10 + KINDS.index("word")] = 0.3
    signals = signal_classes(labels)
    assert digit_score(probabilities, signals) == 0  # most like a tone: no digit, whatever the threshold
    assert refusal(probabilities, labels, 0.01, signals) == "it sounds like a steady tone or hum (digit score 0.000)"
    assert refusal(probabilities, labels, 0.3, []) is None  # detector.refuse_signals: false
    probabilities[3], probabilities[10 + KINDS.index("word")] = 0.6, 0.0
    assert digit_score(probabilities, signals) == pytest.approx(0.6)
    assert refusal(probabilities, labels, 0.7, signals) == "it sounds like a steady tone or hum (digit score 0.600)"
    assert refusal(probabilities, labels, 0.6, signals) is None


LABELS = [*map(str, range(10)), *KINDS]


class LoudIsNoise:
    """A stand-in MFCC detector: a clip whose matrices average above 0 is noise, else a digit 3."""

    def __init__(self) -> None:
        self.meta = {"labels": LABELS, "threshold": 0.5, "input": "mfcc"}

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        assert x.ndim == 3, "the detector reads MFCC matrices, whatever the recogniser reads"
        out = np.zeros((len(x), len(LABELS)), np.float32)
        noisy = x.mean(axis=(1, 2)) > 0
        out[noisy, 10 + KINDS.index("noise")] = 1
        out[~noisy, 3] = 1
        return out


class FakeWhisper:
    """A stand-in Whisper recogniser and detector: a clip's "states" are its first sample, counted per pass."""

    runtime = "whisper"

    def __init__(self) -> None:
        self.passes, self.meta = 0, {"labels": LABELS, "threshold": 0.5}

    def features(self, clips: list[np.ndarray], sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        self.passes += 1
        return np.array([[clip[0]] for clip in clips]), np.zeros((len(clips), 10))

    def read(self, clips: list[np.ndarray], sample_rate: int) -> Reading:
        states, scores = self.features(clips, sample_rate)
        log_proba = np.log(np.tile(np.eye(10)[3] * 0.9 + 0.01, (len(states), 1)))
        return Reading(states, scores, log_proba, log_proba)

    def probabilities(self, states: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return np.where(states > 0, np.eye(len(LABELS))[10], np.eye(len(LABELS))[3])


def test_each_recogniser_has_its_own_detector_reading_what_it_reads() -> None:
    """The MFCC detector reads MFCC matrices; the Whisper detector the Whisper features of the same one pass."""
    loud, quiet = np.full(800, 0.5, np.float32), np.full(800, -0.5, np.float32)
    whisper = FakeWhisper()
    probabilities, refusals = recognised(whisper, whisper, [loud, quiet], 8000)
    assert refusals == ["it sounds like noise (digit score 0.000)", None] and whisper.passes == 1
    assert probabilities.shape == (2, 10) and (probabilities.argmax(axis=1) == 3).all()
    assert recognised(whisper, None, [loud, quiet], 8000)[1] == [None, None]


def test_the_detector_names_why_no_digit_was_heard() -> None:
    classes = LoudIsNoise().probabilities(np.stack([np.ones((20, 32)), -np.ones((20, 32))]))
    assert heard(LoudIsNoise(), classes) == ["it sounds like noise (digit score 0.000)", None]


def test_parts_of_a_digit_string_are_judged_at_their_own_threshold() -> None:
    """A clip whose digit score is 0.7 passes a detector whose threshold is 0.8 only as a part of a digit string,
    when the string's threshold (chosen on the parts `--sequence` cuts from new voices' strings) is lower."""
    detector = LoudIsNoise()
    classes = np.eye(len(LABELS))[3][None] * 0.7 + np.eye(len(LABELS))[10 + KINDS.index("word")][None] * 0.3
    detector.meta.update(threshold=0.8, sequence_threshold=0.6)
    refused = "it sounds like a word that is not a digit (digit score 0.700)"
    assert heard(detector, classes) == [refused]
    assert heard(detector, classes, parts=True) == [None]
    del detector.meta["sequence_threshold"]  # a detector from before: its one threshold for both
    assert heard(detector, classes, parts=True) == [refused]
