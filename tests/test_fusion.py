"""The shipped recogniser's fusion of Whisper and MFCC: the same noisy clips for both front ends' folds, a weight
chosen on voices never heard that keeps clean accuracy, and `digits predict` adding the MFCC model at it."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from digits.fusion import CLEAN, choose, fold_table, fuse, joined, loso
from digits.noisy import voice_in_noise
from digits.params import VoiceNoiseParams

WEIGHTS = [0.0, 0.5, 1.0, 2.0]


def clips_of(tmp_path: Path, voices: dict[str, bool], per_voice: int = 6) -> pd.DataFrame:
    """A feature table's keys over wav files of noise-like `voices` ({name: training_only})."""
    rng = np.random.default_rng(0)
    rows = []
    for voice, training_only in voices.items():
        for i in range(per_voice):
            path = tmp_path / f"{voice.replace('/', '_')}_{i}.wav"
            sf.write(path, (0.1 * rng.standard_normal(4000)).astype(np.float32), 8000)
            rows.append({"path": str(path), "speaker": voice, "training_only": training_only, "label": i % 10})
    return pd.DataFrame(rows)


def test_both_front_ends_folds_hear_the_same_noisy_clips_whatever_their_tables(tmp_path: Path) -> None:
    """MFCC's feature table holds the synthetic voices too and Whisper's does not, in another order: the held-out
    voice's clips and their noise must still be the same, or the two sets of log-probabilities could not be
    added clip by clip."""
    keys = clips_of(tmp_path, {"fsdd/a": False, "fsdd/b": False, "fsdd/c": False, "synth/x": True})
    p = VoiceNoiseParams(kinds=["white", "babble"], snr_db=0, clips=4, talkers=2, babble_pool=5, seed=0)
    mfcc = voice_in_noise(keys, "fsdd/a", p)
    whisper = voice_in_noise(keys[~keys["training_only"]].sample(frac=1, random_state=1), "fsdd/a", p)
    assert len(mfcc[0]) == 4 and mfcc[1] == 8000 and list(mfcc[2]) == ["white", "babble"]
    assert mfcc[0]["path"].tolist() == whisper[0]["path"].tolist()
    for kind in p.kinds:
        assert all(np.array_equal(a, b) for a, b in zip(mfcc[2][kind], whisper[2][kind], strict=True))
    assert not np.array_equal(mfcc[2]["white"][0], voice_in_noise(keys, "fsdd/b", p)[2]["white"][0])


def tables(speakers: dict[str, tuple[float, float]], n: int = 200) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Joined out-of-fold tables: for each speaker {name: (MFCC's accuracy in noise, Whisper's in noise)}, `n` clean
    clips (Whisper always right, at 0.9; MFCC right 9 times in 10, at 0.8) and `n` in babble (Whisper at 0.5; MFCC
    at 0.6 and 0.4 in turn), a wrong answer's mass on the next digit. Weight 1 lets MFCC overrule Whisper on half
    the noisy clips and never on a clean one; weight 2 on every noisy clip, and on the clean ones too."""
    rng = np.random.default_rng(0)
    mfcc, whisper = [], []
    for speaker, (mfcc_noisy, whisper_noisy) in speakers.items():
        labels = rng.integers(0, 10, n)
        keys = pd.DataFrame({"path": [f"{speaker}{i}" for i in range(n)], "speaker": speaker, "label": labels})
        conditions = {
            CLEAN: ((0.9, np.full(n, 0.8)), (1.0, np.full(n, 0.9))),
            "babble": ((mfcc_noisy, np.where(np.arange(n) % 2, 0.4, 0.6)), (whisper_noisy, np.full(n, 0.5))),
        }
        for condition, models in conditions.items():
            for found, (right, confidence) in zip((mfcc, whisper), models, strict=True):
                top = np.where(rng.random(n) < right, labels, (labels + 1) % 10)
                proba = np.repeat(((1 - confidence) / 9)[:, None], 10, axis=1)
                proba[np.arange(n), top] = confidence
                found.append(fold_table(keys, condition, np.log(proba)))
    return joined(pd.concat(mfcc), pd.concat(whisper))


def test_the_weight_is_the_best_in_noise_that_keeps_clean_accuracy() -> None:
    """MFCC is right more often in noise, and more confident: any weight over 1 lets its clean mistakes through."""
    keys, mfcc, whisper = tables({"a": (0.9, 0.5), "b": (0.9, 0.5)})
    assert choose(keys, mfcc, whisper, WEIGHTS, max_clean_loss=0.0) == 1.0
    assert choose(keys, mfcc, whisper, WEIGHTS, max_clean_loss=1.0) == 2.0
    assert choose(keys, mfcc, whisper, [0.5, 0.0], max_clean_loss=0.0) == 0.0  # a tie goes to the smaller weight
    clean = (keys["condition"] == CLEAN).to_numpy()
    right = fuse(whisper, mfcc, 1.0)[clean].argmax(axis=1) == keys["label"][clean]
    assert right.all() and not (fuse(whisper, mfcc, 2.0)[clean].argmax(axis=1) == keys["label"][clean]).all()


def test_each_voice_is_scored_at_a_weight_chosen_on_the_other_voices() -> None:
    """Voice c is the only one MFCC hears better in noise: a's and b's weights, chosen with c among the others, fuse;
    c's own, chosen on a and b, is Whisper alone, as is the shipped one, chosen on all three."""
    keys, mfcc, whisper = tables({"a": (0.1, 0.9), "b": (0.1, 0.9), "c": (1.0, 0.0)})
    found = loso(keys, mfcc, whisper, WEIGHTS, max_clean_loss=0.0)
    assert [found["folds"][voice]["weight"] for voice in "abc"] == [1.0, 1.0, 0.0] and found["weight"] == 0.0
    assert found["folds"]["c"]["fused"]["babble"] == found["folds"]["c"]["whisper"]["babble"] == 0.0
    assert found["folds"]["c"]["mfcc"]["babble"] == 1.0
    assert list(found["mean"]["fused"]) == [CLEAN, "babble"] and set(found["by_weight"]) == set(map(str, WEIGHTS))


def test_tables_of_no_common_clip_name_the_stages_to_rerun() -> None:
    keys = pd.DataFrame({"path": ["x"], "speaker": ["a"], "label": [1]})
    with pytest.raises(Exception, match="dvc repro crossval whisper_crossval"):
        joined(fold_table(keys, CLEAN, np.zeros((1, 10))), fold_table(keys, "babble", np.zeros((1, 10))))
