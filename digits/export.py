"""A Keras model as ONNX, with its metadata inside, checked against Keras before it is written.

tf2onnx's names differ from run to run; `digits.onnxgraph.canonical_names` makes them canonical, so that the
same Keras model always gives the same ONNX bytes.
"""

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx

from digits import DigitsError, replacing_file
from digits.features import select_input
from digits.onnxgraph import canonical_names
from digits.runtime import MODEL_FILE, ONNX_META_KEY, KerasModel, OnnxModel, file_sha256
from digits.table import load_features


def export_checked(keras_model: KerasModel, meta: dict, x: np.ndarray, dest: Path) -> str:
    """Write `keras_model` as the ONNX file `dest`, `meta` inside, if both give the same class on every row of
    the model inputs `x`; returns a line saying so."""
    expected = keras_model.probabilities(x)  # also builds the graph that export traces
    with tempfile.TemporaryDirectory() as tmp:
        exported = Path(tmp) / dest.name
        with warnings.catch_warnings():  # tf2onnx still probes the removed `np.object`
            warnings.simplefilter("ignore", FutureWarning)
            keras_model.model.export(exported, format="onnx", verbose=False)
        graph = canonical_names(onnx.load(exported))
        onnx.helper.set_model_props(graph, {ONNX_META_KEY: json.dumps(meta)})
        onnx.save(graph, exported)
        got = OnnxModel(exported).probabilities(x)
        exported_bytes = exported.read_bytes()
    disagree = int(np.sum(expected.argmax(axis=1) != got.argmax(axis=1)))
    if disagree:
        raise DigitsError(f"the ONNX model disagrees with Keras on {disagree} of {len(x)} clips; not exported")
    with replacing_file(dest) as partial:
        partial.write_bytes(exported_bytes)
    return (
        f"exported {dest} ({len(exported_bytes) / 1e6:.2f} MB): same class as Keras on all "
        f"{len(x)} clips, largest probability difference {np.abs(expected - got).max():.1e}"
    )


def export_onnx(model_dir: Path, features: Path, dest: Path) -> str:
    """Write the Keras model of `model_dir` as the ONNX file `dest` if both give the same digit on every clip of
    the feature table `features`; returns a line saying so."""
    keras_model = KerasModel.load(model_dir)
    _, matrix, summary, _ = load_features(features)
    x = select_input(keras_model.meta["input"], matrix, summary)
    meta = {**keras_model.meta, "keras_sha256": file_sha256(model_dir / MODEL_FILE)}
    return export_checked(keras_model, meta, x, dest)
