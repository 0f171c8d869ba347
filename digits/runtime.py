"""A trained model ready to predict, through one wrapper: ONNX Runtime when the model was exported, else Keras.

Kept light on purpose: importing this module (or `digits.predict`) pulls in neither TensorFlow
nor librosa, so a cold `digits predict` on the exported model starts in a fraction of a second.
Both wrappers have `meta` (the `model.json` written with the model), `frontend` (the folder of its pretrained
front end's model, or None) and `probabilities(x)`.
"""

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from digits import DigitsError
from digits.features import FeatureParams
from digits.fusion import mfcc_log_proba, read_fusion
from digits.recognise import clip_probabilities

MODEL_FILE = "model.keras"
META_FILE = "model.json"
ONNX_FILE = "model.onnx"
DETECTOR_FILE = "detector.onnx"  # "no digit heard" (stage `detector`), beside the model
FRONTEND_DIR = "frontend"  # the pretrained front end's ONNX models (stage `frontend`), beside the model
ONNX_META_KEY = "digits"  # ONNX metadata entry holding model.json plus the source model's SHA-256
RUNTIMES = ("auto", "onnx", "keras")
FUSION_FILE = "fusion.json"  # the Whisper recogniser's weight on this model (stage `fusion`), in `whisper/`
BATCH = 256  # rows per inference call of the Keras model


class OnnxModel:
    """An exported model run by ONNX Runtime; `meta` is the `model.json` stored inside it."""

    runtime = "onnx"
    frontend: Path | None = None

    def __init__(self, path: Path, threads: int = 0) -> None:
        """`threads`: ONNX Runtime's intra-op threads per call (0: its default, one per core)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self.meta = json.loads(self.session.get_modelmeta().custom_metadata_map[ONNX_META_KEY])
        except (KeyError, ValueError, RuntimeError, onnxruntime.capi.onnxruntime_pybind11_state.Fail) as err:
            raise DigitsError(f"cannot load the ONNX model {path}: {err}") from err
        self.input = self.session.get_inputs()[0].name

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities `(n, 10)` of a batch of model inputs."""
        return self.session.run(None, {self.input: np.asarray(x, dtype=np.float32)})[0]


class KerasModel:
    """A Keras model (loads TensorFlow) with its `meta`: one saved by `digits train`, or one just trained."""

    runtime = "keras"
    frontend: Path | None = None

    def __init__(self, model: Any, meta: dict) -> None:
        self.model, self.meta = model, meta

    @classmethod
    def load(cls, model_dir: Path, keras_name: str = MODEL_FILE) -> "KerasModel":
        """The model `keras_name` saved in `model_dir` with its `model.json`; Keras safe mode refuses serialised
        Python code."""
        import keras

        try:
            meta = json.loads((model_dir / META_FILE).read_text())
            model = keras.models.load_model(model_dir / keras_name, safe_mode=True)
        except (OSError, ValueError) as err:
            raise DigitsError(f"cannot load the model in {model_dir}: {err}") from err
        return cls(model, meta)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities `(n, 10)` of a batch of model inputs, `BATCH` rows per inference call."""
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate(
            [np.asarray(self.model.predict_on_batch(x[i : i + BATCH])) for i in range(0, len(x), BATCH)]
        )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_current(onnx_model: OnnxModel, keras_file: Path) -> bool:
    """Whether the ONNX model was exported from `keras_file` as it is now (or there is no such file)."""
    return not keras_file.is_file() or onnx_model.meta.get("keras_sha256") == file_sha256(keras_file)


def with_front_end(model: OnnxModel | KerasModel, model_dir: Path) -> OnnxModel | KerasModel:
    """`model`, its feature params checked, its pretrained front end (if it has one) in `model_dir`'s `frontend`."""
    try:
        front_end = FeatureParams.from_dict(model.meta.get("feature_params", {})).front_end
    except (ValueError, TypeError):  # the keys of another version
        raise DigitsError(
            f"the model in {model_dir}/ was made by an older version of this project: run `dvc repro`"
        ) from None
    model.frontend = model_dir / FRONTEND_DIR if front_end.PRETRAINED else None
    return model


def open_model(path: Path, runtime: str = "auto") -> OnnxModel | KerasModel:
    """The model at `path`: a directory written by the pipeline, or a `.onnx` / `.keras` file.

    `runtime` `auto` takes the ONNX export when it is there and was made from the directory's
    current Keras model, and Keras otherwise; `onnx` and `keras` insist on one.
    """
    if runtime not in RUNTIMES:
        raise DigitsError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if path.is_file():
        model_dir, runtime = path.parent, {".onnx": "onnx", ".keras": "keras"}.get(path.suffix, "")
        if not runtime:
            raise DigitsError(f"{path} is not a model: expected a .onnx or .keras file or a model directory")
        opened = OnnxModel(path) if runtime == "onnx" else KerasModel.load(model_dir, path.name)
        return with_front_end(opened, model_dir)
    onnx_file, keras_file = path / ONNX_FILE, path / MODEL_FILE
    if not onnx_file.is_file() and not keras_file.is_file():
        raise DigitsError(f"no model in {path}/: run `make run` (or `dvc repro`, or `dvc pull`) first")
    if runtime == "keras" or (runtime == "auto" and not onnx_file.is_file()):
        return with_front_end(KerasModel.load(path), path)
    if not onnx_file.is_file():
        raise DigitsError(f"no {ONNX_FILE} in {path}/: run `dvc repro export`")
    model = OnnxModel(onnx_file)
    if runtime == "auto" and not is_current(model, keras_file):
        print(f"note: {onnx_file} is older than {keras_file} (run `dvc repro export`); using Keras", file=sys.stderr)
        return with_front_end(KerasModel.load(path), path)
    return with_front_end(model, path)


def open_detector(path: Path, model: OnnxModel | KerasModel, threads: int = 0) -> OnnxModel | None:
    """The "no digit heard" detector beside the model at `path` (a model directory or file), or None if there is
    none; a DigitsError if it was trained on other features than `model`. `threads`: as for `OnnxModel`."""
    found = (path.parent if path.is_file() else path) / DETECTOR_FILE
    if not found.is_file():
        return None
    detector = OnnxModel(found, threads)
    if detector.meta.get("feature_params") != model.meta["feature_params"]:
        stale = f"{found} was trained on other features than the model"
        raise DigitsError(f"{stale}: run `dvc repro detector` (or predict with --no-refuse)")
    detector.frontend = model.frontend
    return detector


class MfccFusion:
    """The MFCC model as the shipped recogniser's second opinion (`whisper_head.Fusion`): its log-probabilities,
    added to Whisper's at `weight`."""

    def __init__(self, weight: float, model: OnnxModel | KerasModel) -> None:
        self.weight, self.model = weight, model

    def log_proba(self, clips: list[np.ndarray], sample_rate: int) -> np.ndarray:
        """`(n, 10)` the MFCC model's log-probabilities of mono clips at `sample_rate`."""
        return mfcc_log_proba(clip_probabilities(self.model, clips, sample_rate))


def open_fusion(models: Path, fusion_json: Path | None = None) -> MfccFusion | None:
    """The fusion of the pipeline's model folder `models`: the MFCC model there (its ONNX export when current) at the
    weight in `fusion_json`, which must be there; without it, at the weight in `whisper/fusion.json` (which stage
    `fusion` writes), or None when there is none."""
    found = fusion_json or models / "whisper" / FUSION_FILE
    return MfccFusion(read_fusion(found), open_model(models)) if fusion_json or found.is_file() else None
