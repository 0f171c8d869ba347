"""Params refuse mistakes: every section is validated before any work, one line naming the key and what is allowed."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digits import DigitsError
from digits.params import FeaturesParams, IngestParams, NoiseParams, Section, SynthParams, load
from tests.conftest import PROJECT

DIGITS = str(Path(sys.executable).parent / "digits")
SECTIONS = Section.__subclasses__()


def with_change(tmp_path: Path, section: str, key: str, value: object) -> Path:
    """A copy of the project's params.yaml with `section.key` set to `value` (removed if value is ...); `key` may
    be dotted (`mfcc.n_mfcc`: in the sub-section `mfcc`)."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    *parents, key = key.split(".")
    where = params[section]
    for parent in parents:
        where = where[parent]
    if value is ...:
        del where[key]
    else:
        where[key] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def test_every_section_of_the_project_params_is_valid() -> None:
    sections = {kind.name for kind in SECTIONS}
    assert sections == set(yaml.safe_load((PROJECT / "params.yaml").read_text()))
    for kind in SECTIONS:
        assert isinstance(load(kind, PROJECT / "params.yaml"), kind)


@pytest.mark.parametrize(
    ("kind", "key", "value", "message"),
    [
        (FeaturesParams, "n_mfc", 20, "features.n_mfc: unknown key"),
        (FeaturesParams, "mfcc.length", "bar", "features.mfcc.length: input should be 'resize' or 'crop', got 'bar'"),
        (FeaturesParams, "mfcc.n_mfcc", "twenty", "features.mfcc.n_mfcc: input should be a valid integer"),
        (FeaturesParams, "mfcc.n_mfcc", 60, "features.mfcc: n_mfcc (60) cannot exceed n_mels (40)"),
        (FeaturesParams, "mfcc.fmax", 5000.0, "features: need mfcc.fmax <= sample_rate / 2 (4000): 5000.0"),
        (FeaturesParams, "speech_embedding.steps", 0, "features.speech_embedding.steps: input should be greater"),
        (FeaturesParams, "test_speeds", [0.9, 3.0], "features.test_speeds.1: input should be less than or equal to 2"),
        (FeaturesParams, "engine", "spark", "features.engine: input should be 'local' or 'dask', got 'spark'"),
        (FeaturesParams, "n_fft", ..., "features.n_fft: missing"),
        (
            IngestParams,
            "sources",
            {"fsdd": {"data_dir": "x", "layout": "foo", "use": "all"}},
            "ingest.sources.fsdd.layout: input should be 'auto', 'fsdd', 'audiomnist' or 'folders'",
        ),
        (
            IngestParams,
            "sources",
            {"synth": {"data_dir": "x", "layout": "auto", "use": "train"}},
            "ingest: sources: at least one corpus needs `use: all`",
        ),
        (SynthParams, "rate", [1.2, 0.8], "synth: rate must be [low, high]: [1.2, 0.8]"),
        (SynthParams, "voices", {"say": 3}, "synth.voices.say: input should be 'espeak-ng', 'flite' or 'festival'"),
        (NoiseParams, "draws", 0, "noise.draws: input should be greater than 0, got 0"),
        (NoiseParams, "kinds", ["pink"], "noise.kinds.0: input should be 'white', 'speech_shaped' or 'babble'"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(
    tmp_path: Path, kind: type[Section], key: str, value: object, message: str
) -> None:
    with pytest.raises(DigitsError) as caught:
        load(kind, with_change(tmp_path, kind.name, key, value))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_corpus_switched_off_in_plain_yaml_is_off(tmp_path: Path) -> None:
    """YAML 1.1 reads `use: off` as False; the params read it as the word."""
    path = tmp_path / "params.yaml"
    path.write_text((PROJECT / "params.yaml").read_text().replace("use: train", "use: off"))
    assert load(IngestParams, path).sources["synth"].use == "off"
    path.write_text((PROJECT / "params.yaml").read_text().replace("use: train", "use: on"))
    with pytest.raises(DigitsError, match=r"ingest\.sources\.synth\.use: input should be 'all', 'train' or 'off'"):
        load(IngestParams, path)


def test_params_are_frozen() -> None:
    p = load(NoiseParams, PROJECT / "params.yaml")
    with pytest.raises(ValueError, match="frozen"):
        p.draws = 3


@pytest.mark.parametrize(
    ("stage", "section", "key", "value", "paths", "message"),
    [
        ("features", "features", "n_mfc", 20, ["m.parquet", "f", "out"], "features.n_mfc: unknown key"),
        ("ingest", "ingest", "split", "foo", ["m.parquet", "r.parquet", "out.json"], "ingest.split: input should"),
        ("synth", "synth", "takes", 0, ["out"], "synth.takes: input should be greater than 0"),
        ("features", "features", "mfcc.length", "bar", ["m.parquet", "f", "out"], "features.mfcc.length: input should"),
        ("augment", "augment", "copies", -1, ["m.parquet", "f", "m", "out"], "augment.copies: input should be greater"),
    ],
)
def test_a_stage_with_a_bad_param_stops_before_any_work(
    tmp_path: Path, stage: str, section: str, key: str, value: object, paths: list[str], message: str
) -> None:
    params = with_change(tmp_path, section, key, value)
    result = subprocess.run(
        [DIGITS, stage, "--params", str(params), *paths], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"error: {params}: {message}")
    assert "Traceback" not in result.stderr and sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
