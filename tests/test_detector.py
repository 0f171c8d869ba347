""" "No digit heard": folds of voices, out-of-fold scores, and a threshold that comes from voices never heard."""

import numpy as np
import pandas as pd
import pytest

from digits import DigitsError, detector, whisper_detector
from digits.detector import Inputs, fold_scores, train_detector
from digits.features import FeatureParams
from digits.negatives import SPLITS
from digits.openset import digit_score, signal_classes
from digits.params import DetectorParams, FeaturesParams, StringParams, TrainParams, WhisperDetectorParams
from digits.refusal import LABELS, Strings, accepted_by_kind, choose_on_new_voices, new_voice_report, voice_folds
from digits.segment import PauseParams
from tests.conftest import params_of

NO_STRINGS = Strings(StringParams(count=0, length=5, pause=(0.3, 0.6), seed=0), PauseParams(0.01, -40, 30, 0.1, 0.1, 0))
REAL, SYNTHETIC = ["fsdd/a", "fsdd/b", "fsdd/c", "fsdd/d"], ["synth/s1", "synth/s2", "synth/s3"]


def inputs(seed: int = 0) -> Inputs:
    """A corpus of 4 real voices (12 clips each: 6 train, 3 val, 3 test) and 3 synthetic ones (6 train clips),
    random matrices (every view the clip's own), one augmented copy of each train clip and 5 non-digits a split."""
    rng = np.random.default_rng(seed)
    rows = [(v, "train" if k < 6 else "val" if k < 9 else "test", False) for v in REAL for k in range(12)]
    rows += [(v, "train", True) for v in SYNTHETIC for _ in range(6)]
    keys = pd.DataFrame(rows, columns=["speaker", "split", "training_only"])
    keys["corpus"] = keys["speaker"].str.split("/").str[0]
    keys["label"], keys["path"] = np.arange(len(keys)) % 10, [f"clip{i}.wav" for i in range(len(keys))]
    views = np.repeat(rng.normal(size=(len(keys), 1, 4, 5)), 2, axis=1).astype(np.float32)
    train = keys[keys["split"] == "train"]
    copy_keys = train[["path", "speaker", "split", "label"]].assign(noise_speaker="").reset_index(drop=True)
    copies = rng.normal(size=(len(copy_keys), 4, 5)).astype(np.float32)
    others = {s: (rng.normal(size=(5, 2, 4, 5)).astype(np.float32), np.full(5, 10)) for s in ("train", "val", "test")}
    front_end = FeatureParams.of(params_of(FeaturesParams))
    return Inputs(keys, views, copy_keys, copies, others, front_end, None)


class Memoriser:
    """A stand-in network that knows exactly the matrices it was trained on: a digit for those, noise for others."""

    def __init__(self, x: np.ndarray) -> None:
        self.seen = {row.tobytes() for row in np.asarray(x, np.float32)}

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        known = np.array([row.tobytes() in self.seen for row in x])
        out = np.zeros((len(x), len(LABELS)), np.float32)
        out[known, 0], out[~known, LABELS.index("noise")] = 1, 1
        return out


def memorise(model_params: object, schedule: object, x: np.ndarray, y: np.ndarray, **kwargs: object) -> tuple:
    return Memoriser(x), None


def params() -> tuple[DetectorParams, TrainParams]:
    return params_of(DetectorParams, folds=2), params_of(TrainParams)


def test_every_real_voice_is_held_out_once_and_the_synthetic_ones_are_dealt_too() -> None:
    keys = inputs().keys
    folds = voice_folds(keys, 2)
    assert sorted(v for fold in folds for v in fold) == sorted(REAL + SYNTHETIC)
    assert all(set(fold) & set(REAL) and set(fold) & set(SYNTHETIC) for fold in folds)
    with pytest.raises(DigitsError, match=r"detector.folds is 5 but the scored corpora have 4 speakers"):
        voice_folds(keys, 5)


def test_the_threshold_comes_from_voices_the_detector_never_heard(monkeypatch: pytest.MonkeyPatch) -> None:
    """A detector that memorises its training clips scores a clip it heard as a digit and any other as noise:
    out of fold, no clip may be one it heard, so every new-voice score is about 0 and so is the threshold."""
    data = inputs()
    monkeypatch.setattr(detector, "load_inputs", lambda *paths: data)
    monkeypatch.setattr(detector, "fit", memorise)
    p, train = params()
    shipped = digit_score(
        detector.recognise(train_detector(p, train.spec_augment, data), data.views)[0], signal_classes(LABELS)
    )
    heard = (data.keys["split"] == "train").to_numpy()
    assert (shipped[heard] == 1).all() and (shipped[~heard] < 1e-6).all()  # the memoriser works: it knows its own
    scores = np.full(len(data.keys), np.nan)
    for fold in voice_folds(data.keys, p.folds):
        held_out, others, parts = fold_scores(p, train.spec_augment, (None, None, None), NO_STRINGS, fold)
        assert others.shape == (5,) and parts == {}
        scores = np.where(np.isnan(held_out), scores, held_out)
    test = (data.keys["split"] == "test").to_numpy()
    assert np.isnan(scores[test]).all() and not np.isnan(scores[~test]).any()  # every voice, never the test split
    assert (scores[~test] < 1e-6).all()  # each clip scored by a detector that never heard its voice
    assert choose_on_new_voices(data.keys, scores, 0.02) < 1e-6
    assert choose_on_new_voices(data.keys, np.where(heard, shipped, np.nan), 0.02) == 1  # heard clips: caught


def test_new_voice_figures_are_per_real_voice_with_the_synthetic_ones_apart() -> None:
    keys = inputs().keys
    scores = np.where(keys["split"] == "test", np.nan, 0.9)
    scores[(keys["speaker"] == "fsdd/a").to_numpy() & (keys["split"] == "train").to_numpy()] = 0.1  # 6 of 9
    scores[(keys["speaker"] == "synth/s1").to_numpy()] = 0.1  # 6 of 18 synthetic clips
    parts = {"fsdd/a": np.array([0.1, 0.9, 0.9, 0.9]), "fsdd/b": np.array([0.9, 0.9])}
    report = new_voice_report(keys, scores, [np.array([0.95, 0.2]), np.array([0.1, 0.1])], parts, 0.5, 0.95)
    assert report["refused_by_voice"] == {"fsdd/a": 0.6667, "fsdd/b": 0, "fsdd/c": 0, "fsdd/d": 0}
    assert report["mean_refused"] == pytest.approx(0.1667, abs=1e-4) and (report["refused"], report["clips"]) == (6, 36)
    assert report["synthetic_refused"] == pytest.approx(0.3333, abs=1e-4)
    assert report["val_false_accept_rate"] == 0.25  # 1 of 2, then 0 of 2
    assert report["string_parts_refused_by_voice"] == {"fsdd/a": 1, "fsdd/b": 1}  # at their own threshold, 0.95
    assert report["string_parts_refused_at_the_clip_threshold"] == 0.125  # at 0.5: 1 of 4, then 0 of 2
    assert choose_on_new_voices(keys, scores, 0.2) == 0.9  # 6 of the 36 real clips refused (of 54 with synthetic: 12)
    assert choose_on_new_voices(keys, scores, 0.1) == pytest.approx(0.1)  # none refused


class MemorisingHead:
    """Stands in for the Whisper detector's logistic regression: a row it trained on is a digit, any other noise."""

    def __init__(self, x: np.ndarray) -> None:
        self.memoriser = Memoriser(x)

    def log_proba(self, x: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(self.memoriser.predict_on_batch(np.asarray(x, np.float32)), 1e-12))


def test_the_whisper_detector_is_also_chosen_on_voices_it_never_heard(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check for Whisper's detector: each fold's detector never trained on a clip of its held-out voices,
    so a memoriser scores all of them as noise, and the threshold from them is about 0."""
    mfcc = inputs()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(len(mfcc.keys), 788)).astype(np.float32)
    copy_keys = mfcc.copy_keys.assign(speaker=mfcc.keys["speaker"][mfcc.keys["split"] == "train"].to_numpy())
    copies = rng.normal(size=(len(copy_keys), 788)).astype(np.float32)
    others = {s: (rng.normal(size=(5, 788)).astype(np.float32), np.full(5, LABELS.index("word"))) for s in SPLITS}
    data = whisper_detector.Tables(mfcc.keys, x, copy_keys, copies, others)
    monkeypatch.setattr(whisper_detector, "fit_head", lambda x, y, c, classes: MemorisingHead(x))
    p = params_of(WhisperDetectorParams, folds=2)
    heard = (data.keys["split"] == "train").to_numpy()
    shipped = digit_score(whisper_detector.probabilities(whisper_detector.train_detector(p.c, data), x), [])
    assert (shipped[heard] == 1).all() and (shipped[~heard] < 1e-6).all()
    scores = np.full(len(data.keys), np.nan)
    for fold in voice_folds(data.keys, p.folds):
        held_out, val_others, parts = whisper_detector.fold_scores(p, data, fold, NO_STRINGS, None, 8)
        assert val_others.shape == (5,) and parts == {}
        scores = np.where(np.isnan(held_out), scores, held_out)
    test = (data.keys["split"] == "test").to_numpy()
    assert np.isnan(scores[test]).all() and not np.isnan(scores[~test]).any()
    assert (scores[~test] < 1e-6).all() and choose_on_new_voices(data.keys, scores, 0.02) < 1e-6
    _, meta, found = whisper_detector.build_detector(p, data, NO_STRINGS, None, 8)
    assert meta["threshold"] < 1e-6 and found.report["new_voices"]["folds"] == 2
    real = ~test & ~data.keys["training_only"].astype(bool).to_numpy()  # what stage new_voices reads
    assert found.held_out["path"].tolist() == data.keys["path"][real].tolist() and real.sum() > 0
    np.testing.assert_array_equal(found.held_out["digit_score"], scores[real].astype(np.float32))


def test_the_bound_is_on_the_mean_of_the_voices_refusals_not_on_the_pooled_clips() -> None:
    """Voice a has 2 clips, b 8: refusing a's worse clip refuses 1 of 10 clips but half of a's digits, a mean of 25 %
    over the voices, over a bound of 20 %."""
    keys = pd.DataFrame({"speaker": ["a"] * 2 + ["b"] * 8, "training_only": False})
    scores = np.array([0.1, 0.9] + [0.9] * 8)
    assert choose_on_new_voices(keys, scores, 0.2) == pytest.approx(0.1)  # refuses nothing
    assert choose_on_new_voices(keys, scores, 0.25) == pytest.approx(0.9)  # may refuse a's clip


def test_accepted_by_kind_leaves_out_a_kind_with_no_clips() -> None:
    """Only words among the non-digits: their share, and no NaN (not JSON) for the kinds that have no clips."""
    labels = np.full(4, LABELS.index("word"))
    assert accepted_by_kind(np.array([0.1, 0.6, 0.7, 0.9]), labels, 0.5) == {"word": 0.75}
