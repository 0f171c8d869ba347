"""A trained model ready to predict: ONNX Runtime when the model was exported, else Keras.

Kept light on purpose: importing this module (or `stages.predict`) pulls in neither TensorFlow
nor librosa, so a cold `digits predict` on the exported model starts in a fraction of a second.
"""

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stages import DigitsError

MODEL_FILE = "model.keras"
META_FILE = "model.json"
ONNX_FILE = "model.onnx"
ONNX_META_KEY = "digits"  # ONNX metadata entry holding model.json plus the source model's SHA-256
RUNTIMES = ("auto", "onnx", "keras")


class OnnxModel:
    """An exported model run by ONNX Runtime; `meta` is the `model.json` stored inside it."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self.meta = json.loads(self.session.get_modelmeta().custom_metadata_map[ONNX_META_KEY])
        except (KeyError, ValueError, RuntimeError, onnxruntime.capi.onnxruntime_pybind11_state.Fail) as err:
            raise DigitsError(f"cannot load the ONNX model {path}: {err}") from err
        self.input = self.session.get_inputs()[0].name
        self.runtime = "onnx"

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities `(n, 10)` of a batch of model inputs."""
        return self.session.run(None, {self.input: np.asarray(x, dtype=np.float32)})[0]


class KerasModel:
    """The Keras model saved by `digits train` (loads TensorFlow)."""

    def __init__(self, model_dir: Path) -> None:
        from stages.models import load

        self.model, self.meta = load(model_dir)
        self.runtime = "keras"

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities `(n, 10)` of a batch of model inputs."""
        return np.asarray(self.model.predict_on_batch(np.asarray(x, dtype=np.float32)))


def view_probabilities(probabilities: Callable[[np.ndarray], np.ndarray], views: np.ndarray) -> np.ndarray:
    """Class probabilities `(n, views, 10)` of clips given as views `(n, views, ...)` (see `extract_views`),
    all through `probabilities` as one batch.
    """
    n, count = views.shape[:2]
    return probabilities(views.reshape(n * count, *views.shape[2:])).reshape(n, count, -1)


def combine_views(probabilities: np.ndarray) -> np.ndarray:
    """Each clip's class probabilities `(n, 10)` from those of its views `(n, views, 10)`: their geometric
    mean, renormalised (a class must suit every view; it beat the plain mean in leave-one-speaker-out runs).
    """
    log_mean = np.log(np.maximum(probabilities, 1e-12)).mean(axis=1)
    combined = np.exp(log_mean - log_mean.max(axis=1, keepdims=True))
    return combined / combined.sum(axis=1, keepdims=True)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_current(onnx_model: OnnxModel, keras_file: Path) -> bool:
    """Whether the ONNX model was exported from `keras_file` as it is now (or there is no such file)."""
    return not keras_file.is_file() or onnx_model.meta.get("keras_sha256") == file_sha256(keras_file)


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
        return OnnxModel(path) if runtime == "onnx" else KerasModel(model_dir)
    onnx_file, keras_file = path / ONNX_FILE, path / MODEL_FILE
    if not onnx_file.is_file() and not keras_file.is_file():
        raise DigitsError(f"no model in {path}/: run `make run` (or `dvc repro`, or `dvc pull`) first")
    if runtime == "keras" or (runtime == "auto" and not onnx_file.is_file()):
        return KerasModel(path)
    if not onnx_file.is_file():
        raise DigitsError(f"no {ONNX_FILE} in {path}/: run `dvc repro export`")
    model = OnnxModel(onnx_file)
    if runtime == "auto" and not is_current(model, keras_file):
        print(f"note: {onnx_file} is older than {keras_file} (run `dvc repro export`); using Keras", file=sys.stderr)
        return KerasModel(path)
    return model
