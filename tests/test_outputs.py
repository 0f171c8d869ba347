from pathlib import Path

import pytest

from stages import replacing_dir


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


def test_a_model_carrying_python_code_is_refused(tmp_path: Path) -> None:
    """Keras safe mode: a saved Lambda layer (arbitrary code) is not deserialised, let alone run."""
    import keras

    from stages import DigitsError
    from stages.models import load, save

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    save(model, {"kind": "mlp", "input": "summary"}, tmp_path)
    with pytest.raises(DigitsError, match="cannot load the model"):
        load(tmp_path)
