"""Stage `export`: the trained Keras model as ONNX (`models/model.onnx`), for a TensorFlow-free predict.

The model's metadata (`model.json`: input, feature params) and the SHA-256 of the `model.keras` it
came from are stored inside the ONNX file, so `digits predict` needs that one file and can tell
when it is stale. The stage checks that ONNX Runtime gives the same digit as Keras on every clip
of the features table before it writes anything.
"""

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx

from stages import DigitsError, replacing_file
from stages.features import load_features
from stages.frontend import select_input
from stages.models import load
from stages.runtime import MODEL_FILE, ONNX_FILE, ONNX_META_KEY, OnnxModel, file_sha256


def run(model_dir: Path = Path("models"), features: Path = Path("data/features")) -> None:
    """Run the stage (no params): export, embed the metadata, verify against Keras, write."""
    model, meta = load(model_dir)
    _, matrix, summary, _ = load_features(features)
    x = select_input(meta["input"], matrix, summary)
    expected = model.predict(x, verbose=0, batch_size=256)  # also builds the graph that export traces
    with tempfile.TemporaryDirectory() as tmp:
        exported = Path(tmp) / ONNX_FILE
        with warnings.catch_warnings():  # tf2onnx still probes the removed `np.object`
            warnings.simplefilter("ignore", FutureWarning)
            model.export(exported, format="onnx", verbose=False)
        graph = onnx.load(exported)
        onnx.helper.set_model_props(
            graph, {ONNX_META_KEY: json.dumps({**meta, "keras_sha256": file_sha256(model_dir / MODEL_FILE)})}
        )
        onnx.save(graph, exported)
        got = OnnxModel(exported).probabilities(x)
        exported_bytes = exported.read_bytes()
    disagree = int(np.sum(expected.argmax(axis=1) != got.argmax(axis=1)))
    if disagree:
        raise DigitsError(f"the ONNX model disagrees with Keras on {disagree} of {len(x)} clips; not exported")
    with replacing_file(model_dir / ONNX_FILE) as partial:
        partial.write_bytes(exported_bytes)
    print(
        f"exported {model_dir / ONNX_FILE} ({len(exported_bytes) / 1e6:.2f} MB): same digit as Keras on all "
        f"{len(x)} clips, largest probability difference {np.abs(expected - got).max():.1e}"
    )
