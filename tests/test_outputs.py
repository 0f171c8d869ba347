import json
import re
from pathlib import Path

import numpy as np
import pytest

from digits import replacing_dir, write_json


def test_a_failed_stage_leaves_the_old_output_and_no_partial(tmp_path: Path) -> None:
    out = tmp_path / "features"
    out.mkdir()
    (out / "old.parquet").write_text("old")
    with pytest.raises(RuntimeError), replacing_dir(out) as partial:
        (partial / "half.parquet").write_text("half")
        raise RuntimeError("killed mid-way")
    assert [p.name for p in tmp_path.iterdir()] == ["features"]
    assert [p.name for p in out.iterdir()] == ["old.parquet"]


def test_a_finished_stage_replaces_the_output(tmp_path: Path) -> None:
    out = tmp_path / "features"
    out.mkdir()
    (out / "old.parquet").write_text("old")
    with replacing_dir(out) as partial:
        (partial / "new.parquet").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.parquet"]
    assert not (tmp_path / "features.partial").exists()


def test_a_metrics_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    dest = tmp_path / "metrics" / "scores.json"
    write_json(dest, {"accuracy": 0.5})
    with pytest.raises(TypeError):
        write_json(dest, {"accuracy": 0.9, "model": object()})  # fails part-way through
    assert json.loads(dest.read_text()) == {"accuracy": 0.5} and list(dest.parent.iterdir()) == [dest]
    write_json(dest, {"accuracy": 0.9})
    assert json.loads(dest.read_text()) == {"accuracy": 0.9} and list(dest.parent.iterdir()) == [dest]


def test_every_stage_writes_its_json_through_write_json_or_a_partial_folder() -> None:
    stages = Path(__file__).parent.parent / "stages"
    for path in stages.glob("*.py"):
        direct = re.findall(r"(\w+)\.write_text\(json\.dumps", path.read_text())
        assert set(direct) <= {"partial"}, f"{path.name} writes {direct} in place: use digits.write_json"


def test_a_model_carrying_python_code_is_refused(tmp_path: Path) -> None:
    """Keras safe mode: a saved Lambda layer (arbitrary code) is not deserialised, let alone run."""
    import keras

    from digits import DigitsError
    from digits.runtime import KerasModel
    from digits.training import save_model

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    save_model(model, {"kind": "mlp", "input": "summary"}, tmp_path / "model.keras", tmp_path / "model.json")
    with pytest.raises(DigitsError, match="cannot load the model"):
        KerasModel.load(tmp_path)


def test_a_saved_model_has_the_same_bytes_every_time(tmp_path: Path) -> None:
    """The `.keras` zip keeps no save time and no memory address: the same model, built twice and saved a few
    seconds apart, gives one file, which loads."""
    import time

    import keras

    from digits.training import save_model

    for name in ("a", "b"):
        keras.backend.clear_session()  # the same layer names, as in a new process
        keras.utils.set_random_seed(0)
        norm = keras.layers.Normalization()
        norm.adapt(np.arange(8, dtype=np.float32).reshape(2, 4))
        model = keras.Sequential([keras.Input((4,)), norm, keras.layers.Dense(3), keras.layers.Dense(2)])
        save_model(model, {}, tmp_path / f"{name}.keras", tmp_path / f"{name}.json")
        time.sleep(2.1)  # zip times have a resolution of 2 s
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    loaded = keras.models.load_model(tmp_path / "b.keras")
    x = np.ones((1, 4), np.float32)
    np.testing.assert_array_equal(loaded.predict_on_batch(x), model.predict_on_batch(x))


def test_an_onnx_graph_gets_the_same_bytes_whatever_its_inner_names() -> None:
    """tf2onnx's counters name inner tensors differently each run; canonical names in graph order undo that."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from digits.onnxgraph import canonical_names

    def graph(weight: str, hidden: str, bias: str, initializers: tuple[str, str], batch: str) -> onnx.ModelProto:
        values = {weight: np.ones((2, 2), np.float32), bias: np.zeros(2, np.float32)}
        nodes = [helper.make_node("MatMul", ["x", weight], [hidden]), helper.make_node("Add", [hidden, bias], ["y"])]
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 2])]
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 2])]
        tensors = [numpy_helper.from_array(values[name], name) for name in initializers]
        return helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, tensors))

    first = graph("const__104", "mm__3", "const_fold__7", ("const__104", "const_fold__7"), "unk__112")
    second = graph("const_axes__99", "mm__12", "c__1", ("c__1", "const_axes__99"), "unk__113")
    first.graph.doc_string, second.graph.doc_string = "from __call___25226", "from __call___25248"  # trace counters
    assert first.SerializeToString() != second.SerializeToString()
    assert canonical_names(first).SerializeToString() == canonical_names(second).SerializeToString()
    assert [node.input[0] for node in first.graph.node] == ["x", "t1"] and first.graph.output[0].name == "y"
