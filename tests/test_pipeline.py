"""End to end: the DVC pipeline in a fresh git + DVC repository, on a synthetic corpus."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from digits.dsp import resample
from digits.engines import cores
from digits.negatives import KINDS, NEAR_DIGITS
from tests.conftest import ALL_STAGES, Project, all_cpus
from tests.corpus import synth_clip

pytestmark = pytest.mark.slow  # end-to-end: `make check` leaves it out


@pytest.fixture(scope="module")
def project(pipeline_run: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the shared project on the synthetic corpus, after its one `dvc repro`."""
    return pipeline_run.copy(tmp_path_factory.mktemp("pipeline-copy") / "project")


def test_first_repro_runs_every_stage_and_writes_metrics(project: Project) -> None:
    assert set(project.first_run) == ALL_STAGES and len(project.first_run) == len(ALL_STAGES)
    scores = json.loads((project.root / "metrics" / "eval.json").read_text())
    assert scores["test_clips"] == 36  # 20 % of 180 clips
    assert scores["accuracy"] >= 0.9, scores
    assert set(scores["per_class"]) == {str(d) for d in range(10)}
    assert {"precision", "recall", "f1"} <= set(scores["macro"]) and "f1" in scores["weighted"]
    report = json.loads((project.root / "metrics" / "data_report.json").read_text())
    assert report["accepted"] == 220 and report["rejected"] == 0 and report["speakers"] == 7
    assert report["corpora"]["fsdd"]["accepted"] == 180 and report["corpora"]["fsdd"]["speakers"] == 3
    synth = report["corpora"]["synth"]
    assert synth["accepted"] == 40 and synth["splits"] == {"train": 40}
    assert set(synth["engines"]) == {"espeak-ng", "flite", "festival"}
    predictions = pd.read_csv(project.root / "metrics" / "predictions.csv")
    assert len(predictions) == 36 and {"actual", "predicted"} <= set(predictions.columns)
    for png in ("confusion.png", "gallery.png"):
        assert (project.root / "metrics" / png).read_bytes()[:4] == b"\x89PNG"
    assert (project.root / "metrics" / "train" / "plots" / "metrics" / "train" / "loss.tsv").is_file()
    meta = json.loads((project.root / "models" / "model.json").read_text())
    assert meta["kind"] == "cnn" and meta["feature_params"]["mfcc"]["n_mfcc"] == 20
    assert "speech_embedding" not in meta["feature_params"]  # only the front end's own params


def assert_strings_read(crossval: dict, count: int) -> None:
    """Each held-out speaker's fold read `count` digit strings (`--sequence`), and the mean is theirs."""
    read = [fold["strings"] for fold in crossval["folds"].values()]
    assert count > 0 and all(r["strings"] == count for r in read)
    assert all(0 <= r["string_accuracy"] <= r["digit_accuracy"] <= 1 for r in read if not r["miscounted"])
    mean = np.mean([r["string_accuracy"] for r in read])
    assert crossval["strings"]["mean_string_accuracy"] == pytest.approx(mean, abs=1e-6)


def test_crossval_holds_out_each_speaker_and_noise_scores_every_condition(project: Project) -> None:
    crossval = json.loads((project.root / "metrics" / "crossval.json").read_text())
    folds = {"fsdd/s0", "fsdd/s1", "fsdd/s2"}  # never a synthetic voice
    assert set(crossval["folds"]) == folds
    accuracies = [fold["accuracy"] for fold in crossval["folds"].values()]
    assert crossval["mean_accuracy"] == pytest.approx(np.mean(accuracies), abs=1e-6)
    assert crossval["std_accuracy"] == pytest.approx(np.std(accuracies), abs=1e-6)
    assert all(fold["clips"] == 60 for fold in crossval["folds"].values())
    # each fold trains on the other 120 clips, the 40 synthetic ones and their augmented copies, less those
    # babbled with the held-out voice
    copies = pd.read_parquet(project.root / "data" / "augmented", columns=["speaker", "noise_speaker"])
    for speaker, fold in crossval["folds"].items():
        heard = (copies["speaker"] != speaker) & (copies["noise_speaker"] != speaker)
        assert fold["train_examples"] == 160 + heard.sum() < 160 + (copies["speaker"] != speaker).sum()
    # and one model trained on the synthetic voices alone (copies babbled with a real voice left out) is scored
    # on all 180 real clips
    cross = crossval["cross_corpus"]
    synthetic = copies["speaker"].str.startswith("synth/")
    assert cross["train"] == ["synth"] and cross["test"] == ["fsdd"] and cross["clips"] == 180
    assert cross["train_examples"] == 40 + (synthetic & (copies["noise_speaker"] == "")).sum() < 40 + synthetic.sum()
    assert crossval["mean_accuracy"] >= 0.6, crossval
    assert crossval["test_views"] == 1 + len(project.params()["features"]["test_speeds"])
    assert all(0 <= fold["accuracy_one_view"] <= 1 for fold in crossval["folds"].values())
    assert_strings_read(crossval, project.params()["crossval"]["strings"]["count"])
    predictions = pd.read_csv(project.root / "metrics" / "crossval" / "predictions.csv")
    assert len(predictions) == 180 and set(predictions["fold"]) == folds
    timing = json.loads((project.root / "metrics" / "timing" / "crossval.json").read_text())
    assert set(timing["train_seconds"]) == {*folds, "cross_corpus"}
    assert timing["total_train_seconds"] > 0 and timing["workers"] == min(cores(), len(folds) + 1)
    assert timing["threads_per_worker"] == 1  # TensorFlow's default would be 0 (a thread per core)

    noise = json.loads((project.root / "metrics" / "noise.json").read_text())
    assert set(noise) == {"test_clips", "draws", "clean", "white", "speech_shaped", "babble", "draw_std"}
    params = project.params()["noise"]
    assert noise["draws"] == params["draws"] == 2
    for kind in ("white", "speech_shaped", "babble"):
        assert list(noise[kind]) == list(noise["draw_std"][kind]) == [f"snr_{snr}db" for snr in params["snr_db"]]
        assert noise[kind]["snr_0db"] <= noise["clean"]
        assert all(0 <= std <= 0.5 for std in noise["draw_std"][kind].values())
    assert any(noise["draw_std"][kind]["snr_0db"] > 0 for kind in ("white", "babble")), "every draw scored the same"


def test_crossval_gives_the_same_bits_on_one_core_as_on_all(project: Project, tmp_path: Path) -> None:
    """Each fold trains on one thread in its own process, so neither the machine's cores nor the number of
    folds run at once changes a number: one fold at a time on one core gives the metrics of folds run at once on
    every core. The pipeline's run had the cores of its test worker (one of two under `make test`): this run
    has the other case."""
    cpus = all_cpus()
    if len(cpus) < 2:
        pytest.skip("needs 2 cores to compare with 1")
    folds = len(json.loads((project.root / "metrics" / "crossval.json").read_text())["folds"]) + 1  # + synthetic
    pipeline = json.loads((project.root / "metrics" / "timing" / "crossval.json").read_text())["workers"]
    outputs = [tmp_path / name for name in ("crossval.json", "predictions.csv", "mfcc.parquet", "timing.json")]
    project.run(
        "taskset", "-c", ",".join(map(str, cpus if pipeline == 1 else cpus[:1])), sys.executable, "-m",
        "stages.crossval", "data/features", "data/augmented", "models/frontend", *map(str, outputs),
    )  # fmt: skip
    timing = json.loads(outputs[3].read_text())
    assert {timing["workers"], pipeline} == {1, min(len(cpus), folds)} and timing["threads_per_worker"] == 1
    assert outputs[0].read_bytes() == (project.root / "metrics" / "crossval.json").read_bytes()
    assert outputs[1].read_bytes() == (project.root / "metrics" / "crossval" / "predictions.csv").read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(outputs[2]), pd.read_parquet(project.root / "data" / "crossval" / "mfcc.parquet")
    )


def test_augmented_copies_are_features_of_every_clip(project: Project) -> None:
    copies = pd.read_parquet(project.root / "data" / "augmented")
    n = project.params()["augment"]["copies"]
    n_synth = project.params()["augment"]["training_only_copies"]
    assert len(copies) == 180 * n + 40 * n_synth and sorted(copies["copy"].unique()) == list(range(1, n_synth + 1))
    clean = pd.read_parquet(project.root / "data" / "features").set_index("path")
    row = copies.iloc[0]  # a copy is one view; its clip's first view is the clip itself
    first_view = clean.loc[row["path"], "mfcc"][: len(row["mfcc"])]
    assert len(row["mfcc"]) == 20 * 32 and not np.allclose(row["mfcc"], first_view)
    babbled = copies[copies["noise_speaker"] != ""]  # default babble_from: other
    assert 0 < len(babbled) < len(copies) and (babbled["noise_speaker"] != babbled["speaker"]).all()
    assert set(babbled["noise_speaker"]) == {"fsdd/s0", "fsdd/s1", "fsdd/s2"}  # real voices only


def test_features_are_parquet_readable_by_pandas(project: Project) -> None:
    table = pd.read_parquet(project.root / "data" / "features")
    assert len(table) == 220
    views = 1 + len(project.params()["features"]["test_speeds"])
    assert views > 1 and len(table["mfcc"].iloc[0]) == views * 20 * 32 and len(table["summary"].iloc[0]) == views * 140


def test_whisper_is_built_and_scored_beside_mfcc_with_its_zero_shot_anchor(project: Project) -> None:
    """The same clips, the same test split and the same held-out speakers as MFCC's; the head's weight comes from
    voices it never heard."""
    metrics = project.root / "metrics"
    zero = json.loads((metrics / "whisper" / "zeroshot.json").read_text())
    assert zero["test_clips"] == 36 and set(zero["corpora"]) == {"fsdd", "synth"}
    loso = json.loads((metrics / "whisper" / "crossval.json").read_text())
    mfcc = json.loads((metrics / "crossval.json").read_text())
    assert set(loso["folds"]) == set(mfcc["folds"]) and len(loso["folds"]) == 3
    for speaker, fold in loso["folds"].items():
        assert fold["clips"] == 60 and fold["zero_shot"] == zero["speakers"][speaker]
    assert set(loso["cross_corpus"]) == {"real_to_training_only", "training_only_to_real"}
    assert_strings_read(loso, project.params()["crossval"]["strings"]["count"])
    scores = json.loads((metrics / "whisper" / "eval.json").read_text())
    assert scores["test_clips"] == 36 and scores["zero_shot_accuracy"] == zero["test_split"]
    assert scores["accuracy"] >= 0.9  # tones: only the head can learn them (zero-shot hears no digit words)
    meta = json.loads((project.root / "models" / "whisper" / "head" / "model.json").read_text())
    assert meta["weight"] == scores["weight"] > 0 and meta["trained_on"] == 180 - 36
    copies = pd.read_parquet(project.root / "data" / "whisper_augmented")
    assert meta["copies"] == len(copies) == 2 * (180 - 36) and (copies["split"] != "test").all()
    assert sorted(copies["copy"].unique()) == [1, 2] and not copies["training_only"].any()
    noise = json.loads((metrics / "whisper" / "noise.json").read_text())
    assert set(noise) == {"whisper", "whisper_alone", "zero_shot"} and noise["whisper"]["babble"]["snr_0db"] >= 0
    summary = project.run("digits", "summary")
    assert "Whisper tiny.en beside MFCC" in summary and "No digit heard, Whisper's detector" in summary


def test_the_fusion_weight_is_chosen_on_the_same_noisy_clips_of_voices_neither_model_heard(project: Project) -> None:
    """Both crossval stages scored each held-out voice's clips clean and in each noise of `crossval.noise`, the same
    clips for both; stage `fusion` chose the shipped weight on them and scored each voice at a weight chosen on
    the others."""
    mfcc = pd.read_parquet(project.root / "data" / "crossval" / "mfcc.parquet")
    whisper = pd.read_parquet(project.root / "data" / "crossval" / "whisper.parquet")
    keys = ["path", "speaker", "label", "condition"]
    assert mfcc[keys].sort_values(keys).values.tolist() == whisper[keys].sort_values(keys).values.tolist()
    kinds = project.params()["crossval"]["noise"]["kinds"]
    assert mfcc.groupby("condition").size().to_dict() == {"clean": 180, **{kind: 3 * 20 for kind in kinds}}
    metrics = project.root / "metrics"
    found = json.loads((metrics / "fusion.json").read_text())
    shipped = json.loads((project.root / "models" / "whisper" / "fusion.json").read_text())
    assert shipped["weight"] == found["weight"] in project.params()["fusion"]["weights"]
    assert sorted(found["folds"]) == sorted(json.loads((metrics / "crossval.json").read_text())["folds"])
    assert list(found["mean"]["fused"]) == ["clean", *sorted(kinds)]
    assert f"Shipped: Whisper + {found['weight']:g} x MFCC" in project.run("digits", "summary")
    for name, table in (("mfcc", "crossval.json"), ("whisper", "whisper/crossval.json")):
        assert found["mean"][name] == {"clean": found["mean"][name]["clean"]} | json.loads(
            (metrics / table).read_text())["noise"]  # fmt: skip


def test_predict_adds_the_mfcc_model_at_the_fusion_weight(project: Project, tmp_path: Path) -> None:
    """`digits predict --frontend whisper` answers Whisper's log-probabilities plus the weight in
    `whisper/fusion.json` times the MFCC model's (its ONNX export), without TensorFlow."""
    from digits.fusion import fuse, mfcc_log_proba
    from digits.recognise import clip_probabilities
    from digits.runtime import open_model
    from digits.whisper_head import open_whisper

    models = tmp_path / "models"
    shutil.copytree(project.root / "models", models, ignore=shutil.ignore_patterns("tiny.en"))
    (models / "whisper" / "tiny.en").symlink_to(project.root / "models" / "whisper" / "tiny.en")
    (models / "whisper" / "fusion.json").write_text(json.dumps({"weight": 2.0}))
    clip = tmp_path / "noisy.wav"  # a tone in loud white noise: neither model is sure, so their sum moves the answer
    y = synth_clip(7, 1, 7) + 0.3 * np.random.default_rng(0).standard_normal(len(synth_clip(7, 1, 7)))
    sf.write(clip, y.astype(np.float32), 8000)
    probe = (
        "import atexit, sys; from digits.cli import app; "
        "atexit.register(lambda: print('tensorflow' in sys.modules, file=sys.stderr)); "
        "sys.argv = ['digits', 'predict', '--json', '--no-refuse', '--frontend', 'whisper', "
        f"'--model', {str(models)!r}, {str(clip)!r}]; app()"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=project.root, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr.strip().splitlines()[-1] == "False", result.stderr
    y = [sf.read(clip, dtype="float32")[0]]
    whisper = open_whisper(models).read(y, 8000).whisper
    mfcc = mfcc_log_proba(clip_probabilities(open_model(models, "onnx"), y, 8000))
    expected = np.exp(fuse(whisper, mfcc, 2.0))[0]
    np.testing.assert_allclose(json.loads(result.stdout)["probabilities"], expected, atol=1e-4)
    assert np.abs(expected - np.exp(whisper[0])).max() > 0.05  # the MFCC model moved the answer


def test_whisper_has_its_own_detector_chosen_on_voices_it_never_heard(project: Project) -> None:
    """Its threshold refuses at most `max_false_refusals` of the held-out voices' digits, out of fold, and is the
    shipped detector's; `digits predict --frontend whisper` accepts exactly the open-set test's non-digits that the
    stage counted as accepted."""
    report = json.loads((project.root / "metrics" / "whisper" / "openset.json").read_text())
    new = report["new_voices"]
    assert new["folds"] == 3 and set(new["refused_by_voice"]) == {"fsdd/s0", "fsdd/s1", "fsdd/s2"}
    assert new["clips"] == 180 - 36 and new["mean_refused"] <= 0.02  # outside the test split; max_false_refusals
    assert new["string_parts_refused"] <= 0.02  # no part of a digit string refused more often than a single digit
    meta = json.loads((project.root / "models" / "whisper" / "detector" / "model.json").read_text())
    assert meta["threshold"] == pytest.approx(report["threshold"], abs=1e-6) and meta["labels"][10:] == list(KINDS)
    tests = project.root / "data" / "negatives" / "test"
    result = predict(project, "--frontend", "whisper", str(tests))
    said, unreadable = result.stdout.splitlines(), result.stderr.splitlines()  # a silent clip: no answer at all
    assert len(said) + len(unreadable) == report["test"]["non_digits"] > len(unreadable)
    assert sum(line.split("\t")[1] != "no digit" for line in said) == report["test"]["false_accepts"]


def test_new_voices_are_answered_out_of_fold_by_each_recogniser_with_its_detector(project: Project) -> None:
    """Stage `new_voices`: the shipped sum (each voice fused at its fold's weight) and Whisper with Whisper's
    detector, MFCC with its own, answer each held-out voice's clips outside the test split, refused at a threshold
    chosen on the other voices' out-of-fold scores."""
    from digits.fusion import LOG_PROBA, fuse
    from digits.refusal import choose_by_voice

    root, params = project.root, project.params()
    found = json.loads((root / "metrics" / "new_voices.json").read_text())
    tables = {name: pd.read_parquet(root / "data" / "crossval" / f"{name}.parquet") for name in ("mfcc", "whisper")}
    shipped = pd.read_parquet(root / "data" / "crossval" / "shipped.parquet")
    weights = {voice: fold["weight"] for voice, fold in json.loads((root / "metrics" / "fusion.json").read_text())[
        "folds"].items()}  # fmt: skip
    keys = ["path", "speaker", "label", "condition"]
    both = shipped.merge(tables["whisper"], on=keys, suffixes=("", "_w")).merge(tables["mfcc"], on=keys, suffixes=(
        "", "_m"))  # fmt: skip
    assert len(both) == len(shipped) == len(tables["mfcc"])
    weight = both["speaker"].map(weights).to_numpy()[:, None]
    log_proba = [both[[f"{c}{suffix}" for c in LOG_PROBA]].to_numpy() for suffix in ("", "_w", "_m")]
    np.testing.assert_allclose(log_proba[0], fuse(log_proba[1], log_proba[2], weight), atol=1e-5)
    tables["shipped"] = shipped
    for name, detector in (("shipped", "whisper_detector"), ("whisper", "whisper_detector"), ("mfcc", "detector")):
        scores = pd.read_parquet(root / "data" / "held_out" / f"{detector}.parquet")
        assert sorted(found[name]["voices"]) == ["fsdd/s0", "fsdd/s1", "fsdd/s2"]
        for voice, answered in found[name]["voices"].items():
            others = scores[scores["speaker"] != voice]  # the detector's other real voices
            limit = params[detector]["max_false_refusals"]
            threshold = choose_by_voice(others["digit_score"].to_numpy(), others["speaker"].to_numpy(), limit)
            assert answered["threshold"] == pytest.approx(threshold, abs=1e-6)
            table = tables[name]
            rows = table[(table["speaker"] == voice) & (table["condition"] == "clean")].merge(scores, on=keys[:3])
            assert len(rows) == answered["clips"] > 0
            accepted = rows["digit_score"].to_numpy() >= threshold
            right = rows[LOG_PROBA].to_numpy().argmax(axis=1) == rows["label"].to_numpy()
            assert answered["right"] == pytest.approx(np.mean(accepted & right), abs=1e-6)
            assert answered["refused"] == pytest.approx(np.mean(~accepted), abs=1e-6)
        assert sum(v["clips"] for v in found[name]["voices"].values()) == 180 - 36  # all outside the test split
    summary = project.run("digits", "summary").splitlines()
    assert summary[0].startswith("As `digits predict` answers voices never heard") and "shipped" in summary[1]


def test_second_repro_does_nothing(project: Project) -> None:
    ran, _ = project.repro()
    assert ran == []
    assert "up to date" in project.run("dvc", "status")


def would_rerun(project: Project, **sections: dict) -> list[str]:
    """The stages `dvc repro` would run after `set_params(**sections)`, read from the DAG without running them:
    those whose deps or params changed and every stage after them (`--force-downstream`: as when their outputs
    change, which a param change does); params.yaml is left as it was."""
    params = project.root / "params.yaml"
    before = params.read_text()
    try:
        project.set_params(**sections)
        return sorted(project.repro("--dry", "--force-downstream")[0])
    finally:
        params.write_text(before)


def test_a_train_param_reruns_train_and_what_reads_the_model(project: Project) -> None:
    """Rerun for real after a train param in tests/test_interrupt.py (killed, then resumed)."""
    expected = ["crossval", "evaluate", "export", "fusion", "new_voices", "noise", "train", "whisper_noise"]
    assert would_rerun(project, train={"epochs": 15}) == expected  # the shipped recogniser fuses the MFCC model


def test_a_whisper_head_param_reruns_only_what_the_head_feeds(project: Project) -> None:
    expected = ["fusion", "new_voices", "whisper_crossval", "whisper_noise", "whisper_train"]
    assert would_rerun(project, whisper_head={"c": 0.5}) == expected


def test_a_whisper_detector_param_reruns_the_whisper_detector_and_what_reads_its_scores(project: Project) -> None:
    assert would_rerun(project, whisper_detector={"c": 0.05}) == ["new_voices", "whisper_detector"]


def test_augment_param_reruns_augment_and_what_trains_on_it(project: Project) -> None:
    expected = [
        "augment", "crossval", "detector", "evaluate", "export", "fusion", "new_voices", "noise", "train",
        "whisper_noise",
    ]  # fmt: skip
    assert would_rerun(project, augment={"copies": 2}) == expected


def test_features_param_reruns_features_onward(project: Project) -> None:
    project.set_params(features={"speech_embedding": {"steps": 5}})  # another front end's param: nothing reruns
    assert "Data and pipelines are up to date" in project.run("dvc", "status")
    assert would_rerun(project, features={"mfcc": {"n_mfcc": 16}}) == [
        "augment", "crossval", "detector", "evaluate", "export", "features", "fusion", "gallery", "new_voices",
        "noise", "train", "whisper_noise",
    ]  # fmt: skip
    assert "Data and pipelines are up to date" in project.run("dvc", "status")


def test_how_features_are_computed_reruns_nothing(project: Project) -> None:
    """Another engine or worker count: the stage does not declare those keys (its files are the same whichever,
    tests/test_features.py), so nothing reruns."""
    project.set_params(features={"engine": "dask", "workers": 2, "scheduler": None})
    assert project.repro()[0] == []


def _mkdir(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


DIGITS = str(Path(sys.executable).parent / "digits")


def predict(project: Project, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`digits predict ARGS` in the project; stdout and stderr as text."""
    result = subprocess.run([DIGITS, "predict", *args], cwd=project.root, capture_output=True, input=stdin)
    result.stdout, result.stderr = result.stdout.decode(), result.stderr.decode()
    return result


def test_predict_cli_reads_any_format_and_reports_bad_files(project: Project, tmp_path: Path) -> None:
    """New takes at 8 kHz mono and as 44.1 kHz stereo 24-bit give the same digits; junk gets a line."""
    for digit in range(10):
        y = synth_clip(digit, 1, 7)  # a take the corpus does not have
        sf.write(_mkdir(tmp_path / "orig") / f"{digit}.wav", y, 8000)
        y44 = resample(y, 8000, 44100)
        sf.write(_mkdir(tmp_path / "hifi") / f"{digit}.wav", np.stack([y44, y44], 1), 44100, "PCM_24")
    (tmp_path / "junk.wav").write_text("not audio")

    def digits(folder: Path) -> list[int]:
        output = predict(project, "--no-refuse", str(folder)).stdout
        return [int(line.split("\t")[1]) for line in output.splitlines()]

    original = digits(tmp_path / "orig")
    assert original == digits(tmp_path / "hifi")
    assert sum(d == p for d, p in enumerate(original)) >= 9, original

    result = predict(project, str(tmp_path / "junk.wav"), str(tmp_path / "orig" / "3.wav"), "missing.wav")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'junk.wav'}: not audio that libsndfile reads: format not recognised",
        "missing.wav: cannot open: no such file or directory",
    ]
    assert result.stdout.startswith(f"{tmp_path / 'orig' / '3.wav'}\t")


def test_predict_json_stdin_and_both_runtimes_agree(project: Project, tmp_path: Path) -> None:
    clip = tmp_path / "take.wav"
    sf.write(clip, synth_clip(6, 2, 9), 8000)
    by_runtime = {}
    for runtime in ("onnx", "keras"):
        result = predict(project, "--json", "--no-refuse", "--runtime", runtime, str(clip))
        assert result.returncode == 0, result.stderr
        by_runtime[runtime] = json.loads(result.stdout)
    onnx, keras = by_runtime["onnx"], by_runtime["keras"]
    assert set(onnx) == {"path", "digit", "confidence", "probabilities"}
    assert len(onnx["probabilities"]) == 10 and sum(onnx["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert onnx["digit"] == keras["digit"] and onnx["confidence"] == pytest.approx(keras["confidence"], abs=1e-4)
    piped = json.loads(predict(project, "--json", "--no-refuse", "-", stdin=clip.read_bytes()).stdout)
    assert piped == {**onnx, "path": "-"}


def test_predict_uses_onnx_without_tensorflow_unless_the_export_is_stale(project: Project, tmp_path: Path) -> None:
    clip = tmp_path / "take.wav"
    sf.write(clip, synth_clip(2, 0, 9), 8000)
    probe = (
        "import atexit, sys; from digits.cli import app; "
        "atexit.register(lambda: print('tensorflow' in sys.modules, 'librosa' in sys.modules, file=sys.stderr)); "
        f"sys.argv = ['digits', 'predict', {str(clip)!r}]; app()"
    )

    def loaded() -> str:
        result = subprocess.run([sys.executable, "-c", probe], cwd=project.root, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stderr.strip().splitlines()[-1]

    assert loaded() == "False False"
    keras_file = project.root / "models" / "model.keras"
    original = keras_file.read_bytes()
    try:
        keras_file.write_bytes(original + b"\0")  # any other model.keras than the one exported
        assert "older than" in predict(project, str(clip)).stderr
    finally:
        keras_file.write_bytes(original)


def test_predict_sequence_splits_a_digit_string(project: Project, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    digits = [4, 1, 5, 9, 0]
    pause = np.zeros(3000, np.float32)
    y = np.concatenate([pause] + [np.concatenate([synth_clip(d, 1, 8 + i), pause]) for i, d in enumerate(digits)])
    sf.write(tmp_path / "string.wav", y + rng.normal(0, 0.002, len(y)).astype(np.float32), 8000)
    result = predict(project, "--sequence", "--no-refuse", str(tmp_path / "string.wav"))
    assert result.returncode == 0, result.stderr
    header, *segments = result.stdout.splitlines()
    assert len(header.split("\t")[1].split()) == len(segments) == len(digits)
    starts = [float(line.split()[0].split("-")[0]) for line in segments]
    assert starts == sorted(starts) and starts[0] >= 0.3
    recognised = json.loads(
        predict(project, "--sequence", "--no-refuse", "--json", str(tmp_path / "string.wav")).stdout
    )
    assert [s["digit"] for s in recognised["segments"]] == [int(d) for d in header.split("\t")[1].split()]
    assert sum(s["digit"] == d for s, d in zip(recognised["segments"], digits, strict=True)) >= 4


def test_predict_says_no_digit_for_noise_dc_and_clicks_but_not_for_digits(project: Project, tmp_path: Path) -> None:
    """The detector (trained by the pipeline on the generated non-digits) refuses sounds that are no digit, naming
    what they sound like, and lets new takes of the digits through; `--no-refuse` turns it off."""
    rng = np.random.default_rng(11)
    sf.write(tmp_path / "a-noise.wav", 0.2 * rng.standard_normal(8000), 8000)
    sf.write(tmp_path / "b-dc.wav", np.full(8000, 0.4), 8000)
    clicks = np.zeros(8000)
    clicks[::400] = 0.9
    sf.write(tmp_path / "c-clicks.wav", clicks, 8000)
    for digit in range(10):
        sf.write(tmp_path / f"d-{digit}.wav", synth_clip(digit, 2, 9), 8000)  # takes the corpus does not have
    result = predict(project, str(tmp_path))
    assert result.returncode == 0, result.stderr
    said = [line.split("\t") for line in result.stdout.splitlines()]
    assert [fields[1] for fields in said[:3]] == ["no digit"] * 3, result.stdout
    assert "noise" in said[0][2] and "constant offset" in said[1][2]
    assert sum(fields[1].isdigit() for fields in said[3:]) >= 8, result.stdout
    as_json = json.loads(predict(project, "--json", str(tmp_path / "a-noise.wav")).stdout)
    assert set(as_json) == {"path", "no_digit"} and as_json["no_digit"] == said[0][2]
    unchecked = predict(project, "--no-refuse", str(tmp_path)).stdout.splitlines()
    assert len(unchecked) == 13 and all(line.split("\t")[1].isdigit() for line in unchecked)

    pause = np.zeros(3000, np.float32)
    burst = (0.3 * rng.standard_normal(3200)).astype(np.float32)
    string = np.concatenate([pause, synth_clip(4, 2, 8), pause, burst, pause, synth_clip(1, 2, 8), pause])
    sf.write(tmp_path / "string.wav", string, 8000)
    parts = json.loads(predict(project, "--sequence", "--json", str(tmp_path / "string.wav")).stdout)["segments"]
    assert len(parts) == 3 and "no_digit" in parts[1] and "digit" not in parts[1], parts

    openset = json.loads((project.root / "metrics" / "openset.json").read_text())
    assert openset["test"]["non_digits"] == 6 * 10 + 1 * 10  # 10 of each signal, 10 words by the one test voice
    assert openset["val"]["non_digits"] == 6 * 10 + 1 * 10  # the same for val, by the one val voice
    assert openset["test"]["digits"] == 36
    new = openset["new_voices"]  # each real voice's non-test digits, scored by a detector that never heard it
    assert set(new["refused_by_voice"]) == {"fsdd/s0", "fsdd/s1", "fsdd/s2"} and new["clips"] == 180 - 36
    assert new["mean_refused"] <= 0.02 and new["synthetic_refused"] is not None  # max_false_refusals: a voice's mean
    assert set(new["string_parts_refused_by_voice"]) == set(new["refused_by_voice"])  # their digit strings' parts
    said = {
        split: {path.stem.rsplit("_", 1)[1] for path in (project.root / "data" / "negatives" / split).glob("word/*")}
        for split in ("train", "val", "test")
    }
    assert said["train"] & set(NEAR_DIGITS), said  # negatives.near_digits
    assert not (said["val"] | said["test"]) & (said["train"] | set(NEAR_DIGITS)), said
    refused = pd.read_csv(project.root / "metrics" / "openset" / "refused.csv")
    assert {"path", "corpus", "split", "label", "digit_score", "sounds_like"} <= set(refused.columns)
    assert len(refused) < 44  # of 220 clips


def test_a_detector_param_reruns_the_detector_and_what_reads_its_scores(project: Project) -> None:
    project.set_params(detector={"max_false_refusals": 0.1})
    assert project.repro()[0] == ["detector", "new_voices"]
    new = json.loads((project.root / "metrics" / "openset.json").read_text())["new_voices"]
    assert new["refused"] == int(0.1 * new["clips"])  # 14 of the 144 digits of voices each detector never heard
