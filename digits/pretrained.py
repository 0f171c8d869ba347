"""Obtaining the speech_embedding front end: its two TFLite models from a wheel on PyPI, verified, as ONNX.

`obtain` downloads the `wyoming-openwakeword` wheel with pip (installing nothing, none of its dependencies),
checks each model file against its pinned SHA-256 and converts it once to ONNX with tf2onnx, in a canonical
node order and with canonical names, so that two runs write the same bytes.
"""

import json
import tempfile
import zipfile
from pathlib import Path

from digits import DigitsError, replacing_dir
from digits.fetching import download_wheel, sha256_bytes
from digits.frontends.speech_embedding import MODELS
from digits.onnxgraph import canonical_names, structural_order

MEMBER = "wyoming_openwakeword/models/{}.tflite"
PROVENANCE = "frontend.json"


def verified_member(wheel: Path, name: str, sha256: str) -> bytes:
    """The bytes of model `name` in `wheel`, if they match the pinned `sha256`; a one-line DigitsError otherwise."""
    member = MEMBER.format(name)
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except (KeyError, zipfile.BadZipFile, OSError) as err:
        raise DigitsError(f"{wheel} holds no readable {member}: {err}") from None
    if sha256_bytes(data) != sha256:
        raise DigitsError(f"{member} in {wheel} has SHA-256 {sha256_bytes(data)}, not the pinned {sha256}; refused")
    return data


def to_onnx(tflite: bytes, opset: int) -> bytes:
    """A TFLite model converted to ONNX by tf2onnx, its names canonical (the same bytes every run).

    tf2onnx's graph optimisers are not run (`from_tflite` without them): they are not deterministic
    (a Reshape became an Unsqueeze in some runs, and CI caught two conversions differing). The graph
    they would have simplified gives the same embeddings to the last bit and runs as fast, since ONNX
    Runtime optimises a graph itself when it loads it.
    """
    import tensorflow as tf
    from tf2onnx.tfonnx import process_tf_graph

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "model.tflite"
        source.write_bytes(tflite)
        with tf.device("/cpu:0"), tf.Graph().as_default() as graph:
            converted = process_tf_graph(graph, continue_on_error=True, opset=opset, tflite_path=str(source))
            model = converted.make_model("converted from model")
    model.producer_version = ""  # the converter's build, not the model's
    return canonical_names(structural_order(model)).SerializeToString(deterministic=True)


def obtain(package: str, pinned: dict[str, str], opset: int, dest: Path, wheel: Path | None = None) -> str:
    """Fill `dest` with the two models of `package`'s wheel (downloaded, or the local `wheel`) as ONNX, each TFLite
    file checked against its `pinned` SHA-256 first, and `frontend.json` saying where they came from."""
    with tempfile.TemporaryDirectory() as tmp, replacing_dir(dest) as partial:
        found = wheel if wheel else download_wheel(package, Path(tmp), "set frontend.wheel to a copy")
        files = {}
        for name in MODELS:
            onnx_bytes = to_onnx(verified_member(found, name, pinned[name]), opset)
            (partial / f"{name}.onnx").write_bytes(onnx_bytes)
            files[name] = {"tflite_sha256": pinned[name], "onnx_sha256": sha256_bytes(onnx_bytes)}
        provenance = {"frontend": "speech_embedding", "package": package, "member": MEMBER, "files": files}
        (partial / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
    return f"speech_embedding from {package}: {', '.join(MODELS)} verified and converted to ONNX -> {dest}/"


def nothing_to_obtain(frontend: str, dest: Path) -> str:
    """Fill `dest` with `frontend.json` alone, for a front end that needs no pretrained model (MFCC)."""
    with replacing_dir(dest) as partial:
        (partial / PROVENANCE).write_text(json.dumps({"frontend": frontend, "files": {}}, indent=2) + "\n")
    return f"features.frontend is {frontend}: no pretrained model needed -> {dest}/{PROVENANCE}"
