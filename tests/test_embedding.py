"""The speech_embedding front end: obtained from its wheel on PyPI (SHA-256 pinned), converted to ONNX the same way
every run, embedding clips as openWakeWord does, and the whole pipeline and `digits predict` on it."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import soundfile as sf
import yaml
from onnx import TensorProto, helper

from digits import DigitsError
from digits.features import FeatureParams, extract_batch
from digits.frontends import speech_embedding as embedding
from digits.onnxgraph import canonical_names, structural_order
from digits.params import FeaturesParams, FrontendParams, load
from digits.pretrained import MEMBER, nothing_to_obtain, obtain
from tests.conftest import PROJECT, Project
from tests.corpus import synth_clip

pytestmark = pytest.mark.slow  # end-to-end: `make check` leaves it out

PINNED = load(FrontendParams, PROJECT / "params.yaml")


@pytest.fixture(scope="session")
def frontend_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real speech_embedding models, obtained once per session from the package index."""
    dest = tmp_path_factory.mktemp("frontend") / "frontend"
    obtain(PINNED.package, PINNED.sha256, PINNED.opset, dest)
    return dest


@pytest.fixture
def embedding_params() -> FeatureParams:
    """The project's feature params with the speech_embedding front end."""
    features = load(FeaturesParams, PROJECT / "params.yaml").model_copy(update={"frontend": "speech_embedding"})
    return FeatureParams.of(features)


def fake_wheel(path: Path, contents: dict[str, bytes]) -> Path:
    """A zip at `path` holding the model members named in `contents` (by model name)."""
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in contents.items():
            wheel.writestr(MEMBER.format(name), data)
    return path


def test_a_modified_model_file_is_refused_with_one_line(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "x.whl", {"melspectrogram": b"not the pinned model", "embedding_model": b"nor this"})
    with pytest.raises(DigitsError, match=r"melspectrogram.tflite in .* has SHA-256 [0-9a-f]{64}, not the pinned"):
        obtain(PINNED.package, PINNED.sha256, PINNED.opset, tmp_path / "frontend", wheel)
    assert not (tmp_path / "frontend").exists()


def test_the_stage_refuses_a_modified_wheel_in_one_line_and_downloads_nothing_for_mfcc(tmp_path: Path) -> None:
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    wheel = fake_wheel(tmp_path / "x.whl", {"melspectrogram": b"tampered", "embedding_model": b"tampered"})
    params["frontend"].update(wheel=str(wheel), package="no-such-package-anywhere==0.0")
    params["features"]["frontend"] = "speech_embedding"
    (tmp_path / "params.yaml").write_text(json.dumps(params))
    command = [sys.executable, "-m", "stages.frontend", "--params", str(tmp_path / "params.yaml")]
    refused = subprocess.run([*command, str(tmp_path / "a")], cwd=PROJECT, capture_output=True, text=True)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "not the pinned" in refused.stderr and "Traceback" not in refused.stderr
    params["features"]["frontend"] = "mfcc"  # and the package does not exist: nothing may be downloaded
    (tmp_path / "params.yaml").write_text(json.dumps(params))
    done = subprocess.run([*command, str(tmp_path / "b")], cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["frontend.json"]
    assert nothing_to_obtain("mfcc", tmp_path / "c").startswith("features.frontend is mfcc")


def test_two_conversions_give_the_same_bytes(frontend_dir: Path, tmp_path: Path) -> None:
    obtain(PINNED.package, PINNED.sha256, PINNED.opset, tmp_path / "again")
    for name in (*(f"{model}.onnx" for model in embedding.MODELS), "frontend.json"):
        assert (tmp_path / "again" / name).read_bytes() == (frontend_dir / name).read_bytes(), name
    provenance = json.loads((frontend_dir / "frontend.json").read_text())
    assert provenance["package"] == PINNED.package
    assert {f["tflite_sha256"] for f in provenance["files"].values()} == set(PINNED.sha256.values())


def two_branches(first: str) -> onnx.ModelProto:
    """y = (x + 1) * (x - 2), the two branches written in either order, with names that depend on the order."""
    add = helper.make_node("Add", ["x", f"one_{first}"], [f"a_{first}"])
    sub = helper.make_node("Sub", ["x", f"two_{first}"], [f"s_{first}"])
    mul = helper.make_node("Mul", [f"a_{first}", f"s_{first}"], ["y"])
    constants = [
        helper.make_tensor(f"one_{first}", TensorProto.FLOAT, [1], [1.0]),
        helper.make_tensor(f"two_{first}", TensorProto.FLOAT, [1], [2.0]),
    ]
    graph = helper.make_graph(
        [add, sub, mul] if first == "add" else [sub, add, mul],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        constants if first == "add" else constants[::-1],
    )
    return helper.make_model(graph)


def test_structural_order_makes_the_order_of_independent_branches_canonical() -> None:
    def canonical(model: onnx.ModelProto, ordered: bool) -> bytes:
        return canonical_names(structural_order(model) if ordered else model).SerializeToString(deterministic=True)

    assert canonical(two_branches("add"), True) == canonical(two_branches("sub"), True)
    assert canonical(two_branches("add"), False) != canonical(two_branches("sub"), False)  # what it fixes
    onnx.checker.check_model(structural_order(two_branches("sub")))


@pytest.mark.parametrize("steps", [1, 4, 7])
def test_samples_for_gives_exactly_that_many_embeddings(frontend_dir: Path, steps: int) -> None:
    audio = np.random.default_rng(steps).normal(0, 0.1, (2, embedding.samples_for(steps))).astype(np.float32)
    assert embedding.embed(audio, frontend_dir).shape == (2, embedding.DIM, steps)


def test_a_batch_of_clips_gives_each_what_it_gets_alone(embedding_params: FeatureParams, frontend_dir: Path) -> None:
    clips = [(synth_clip(digit, 0, 3 + digit), 8000) for digit in range(5)] + [(np.zeros(100, np.float32), 8000)]
    matrices, summaries = extract_batch(clips, embedding_params, 1.0, frontend_dir)
    assert matrices.shape == (6, embedding.DIM, embedding_params.settings.steps)
    assert summaries.shape == (6, embedding_params.summary_size) == (6, 2 * embedding.DIM)
    for i, clip in enumerate(clips):
        alone, _ = extract_batch([clip], embedding_params, 1.0, frontend_dir, threads=1)
        np.testing.assert_allclose(alone[0], matrices[i], rtol=1e-4, atol=1e-3)
    assert np.abs(matrices[0] - matrices[1]).max() > 1  # other digits, other embeddings


def test_a_missing_front_end_is_one_line_naming_the_stage(tmp_path: Path, embedding_params: FeatureParams) -> None:
    with pytest.raises(DigitsError, match="run `dvc repro frontend`"):
        embedding.embed(np.zeros((1, embedding.samples_for(1)), np.float32), tmp_path / "nowhere")
    with pytest.raises(DigitsError, match="needs its model folder"):
        extract_batch([(synth_clip(1, 0, 0), 8000)], embedding_params)


@pytest.fixture(scope="module")
def project(pipeline_run: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the shared synthetic project switched to the speech_embedding front end and the `head` model:
    `dvc repro` reruns the MFCC side from `frontend` on (Whisper's stages read none of it). The test checks that
    the pipeline runs and predict answers, not how well: a few epochs of the model and the detector."""
    project = pipeline_run.copy(tmp_path_factory.mktemp("embedding") / "project")
    project.set_params(
        features={"frontend": "speech_embedding", "speech_embedding": {"steps": 4}},
        model={"kind": "head", "head": {"filters": 32, "kernel_size": 3, "dropout": 0.2}},
        train={"epochs": 4},
        detector={"epochs": 4},
        noise={"draws": 1, "snr_db": [10]},
    )
    project.first_run, _ = project.repro()
    return project


def test_the_pipeline_runs_on_embeddings_and_predict_needs_no_tensorflow(project: Project, tmp_path: Path) -> None:
    assert {"frontend", "features", "train", "crossval", "detector"} <= set(project.first_run)
    whisper = {stage for stage in project.first_run if stage.startswith("whisper")}
    assert whisper == {"whisper_noise"} and "fusion" in project.first_run  # the shipped sum reads the MFCC model
    meta = json.loads((project.root / "models" / "model.json").read_text())
    assert meta["kind"] == "head" and meta["input"] == "embedding"
    assert meta["feature_params"]["frontend"] == "speech_embedding"
    assert sorted(p.name for p in (project.root / "models" / "frontend").iterdir()) == [
        "embedding_model.onnx", "frontend.json", "melspectrogram.onnx"
    ]  # fmt: skip
    crossval = json.loads((project.root / "metrics" / "crossval.json").read_text())
    assert len(crossval["folds"]) == 3
    clip = tmp_path / "take.wav"
    sf.write(clip, synth_clip(4, 1, 9), 8000)
    probe = (
        "import atexit, sys; from digits.cli import app; "
        "atexit.register(lambda: print('tensorflow' in sys.modules, file=sys.stderr)); "
        f"sys.argv = ['digits', 'predict', '--json', '--no-refuse', {str(clip)!r}]; app()"
    )
    # from another directory, with --model: the front end is found beside the model, not in the working directory
    models, params = str(project.root / "models"), str(project.root / "params.yaml")
    where = f"'predict', '--model', {models!r}, '--params', {params!r},"
    command = [sys.executable, "-c", probe.replace("'predict',", where)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "False"
    answer = json.loads(result.stdout)
    assert set(answer) == {"path", "digit", "confidence", "probabilities"} and 0 <= answer["digit"] <= 9
    digits = str(Path(sys.executable).parent / "digits")
    keras = subprocess.run(
        [digits, "predict", "--json", "--no-refuse", "--runtime", "keras", str(clip)],
        cwd=project.root, capture_output=True, text=True,
    )  # fmt: skip
    assert keras.returncode == 0, keras.stderr
    assert json.loads(keras.stdout)["digit"] == answer["digit"]
