"""Stage `export`: the trained Keras model as ONNX, for a TensorFlow-free `digits predict`.

    python -m stages.export models data/features models/model.onnx

The model's metadata (`model.json`: input, feature params) and the SHA-256 of the `model.keras` it
came from are stored inside the ONNX file, so `digits predict` needs that one file and can tell
when it is stale. The stage checks that ONNX Runtime gives the same digit as Keras on every clip
of the feature table before it writes anything.
"""

from pathlib import Path

from digits import stage
from digits.export import export_onnx


def run(models: Path, features: Path, onnx_file: Path) -> None:
    """Export the Keras model of the folder `models` to `onnx_file`, checked on every clip of `features`."""
    print(export_onnx(models, features, onnx_file))


if __name__ == "__main__":
    stage.main(run)
