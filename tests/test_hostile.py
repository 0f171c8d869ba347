"""Hostile inputs (lying headers, files that are no regular file, names that break lines) through `ingest` and
`digits predict`, each run with a timeout so that a hang fails instead of stalling CI; and the isolation
that keeps one bad input from costing the others."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import digits.dataset
import digits.predict
from digits import escape
from digits.predict import Prediction, predict
from tests.badfiles import make_hostile_corpus
from tests.conftest import PROJECT, Project, ingest_into
from tests.corpus import make_corpus

pytestmark = pytest.mark.slow  # end-to-end: `make check` leaves it out

DIGITS = str(Path(sys.executable).parent / "digits")
GOOD = 40  # clips of the corpus the hostile files are mixed into


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str | None]]:
    """A folder of `GOOD` synthetic clips and the hostile inputs, with their verdicts."""
    root = make_corpus(tmp_path_factory.mktemp("hostile") / "rec", speakers=2, takes=2)
    return root, make_hostile_corpus(root)


def test_ingest_gives_each_hostile_file_its_reason_and_finishes(hostile: tuple[Path, dict], tmp_path: Path) -> None:
    root, verdicts = hostile
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["ingest"]["sources"] = {"rec": {"data_dir": str(root), "layout": "fsdd", "use": "all"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    outputs = [str(tmp_path / name) for name in ("manifest.parquet", "rejects.parquet", "report.json")]
    command = [sys.executable, "-m", "stages.ingest", "--params", str(tmp_path / "params.yaml"), *outputs]
    result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["found"] == GOOD + len(verdicts) == report["accepted"] + report["rejected"]
    assert report["accepted"] == GOOD + sum(verdict is None for verdict in verdicts.values())
    rejects = pd_rejects(tmp_path / "rejects.parquet", root)
    for name, verdict in verdicts.items():
        assert (name not in rejects) if verdict is None else rejects.get(name, "").startswith(verdict), (name, rejects)


def pd_rejects(path: Path, root: Path) -> dict[str, str]:
    """{path relative to `root`: reason} of a rejects table."""
    import pandas as pd

    table = pd.read_parquet(path)
    return {Path(p).relative_to(root).as_posix(): r for p, r in zip(table["path"], table["reason"], strict=True)}


def test_predict_answers_every_hostile_input_on_one_line(hostile: tuple[Path, dict], pipeline_run: Project) -> None:
    root, verdicts = hostile
    inputs = sorted(str(p) for p in root.iterdir())
    result = subprocess.run(
        [DIGITS, "predict", *inputs], cwd=pipeline_run.root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    predicted = [line.split("\t") for line in result.stdout.splitlines()]
    assert all(len(fields) == 3 for fields in predicted)  # no name breaks the tab-separated output
    refused = dict(line.split(": ", 1) for line in result.stderr.splitlines())
    assert {p for p, _, _ in predicted} | set(refused) == {escape(p) for p in inputs}
    for name, verdict in verdicts.items():
        if verdict is None:
            assert escape(str(root / name)) in {p for p, _, _ in predicted}, name
        else:  # predict words "too long" for one digit its own way, pointing at --sequence
            reason = refused[escape(str(root / name))]
            assert reason.startswith(verdict) or (verdict == "too long" and "for one digit" in reason), (name, reason)


def test_a_memory_error_costs_its_file_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = make_corpus(tmp_path / "rec", speakers=2, takes=2)
    victim = sorted(root.glob("*.wav"))[5]
    real = digits.dataset.open_regular

    def open_regular(path: Path) -> object:
        if path == victim:
            raise MemoryError("a 128 GiB allocation")
        return real(path)

    monkeypatch.setattr(digits.dataset, "open_regular", open_regular)
    ingest_into(tmp_path / "out", data_dir=str(root))
    report = json.loads((tmp_path / "out" / "data_report.json").read_text())
    assert report["found"] == GOOD and report["accepted"] == GOOD - 1
    rejects = pd_rejects(tmp_path / "out" / "rejects.parquet", root)
    assert rejects == {victim.name: "unreadable: MemoryError: a 128 GiB allocation"}

    def predict_one(model: object, path: str, *args: object) -> Prediction:
        if path == "b.wav":
            raise MemoryError("a 128 GiB allocation")
        return Prediction(path, digit=1)

    monkeypatch.setattr(digits.predict, "predict_one", predict_one)
    results = list(predict(None, ["a.wav", "b.wav", "c.wav"], (0.05, 10.0)))
    assert [(r.path, r.digit, r.error) for r in results] == [
        ("a.wav", 1, None),
        ("b.wav", None, "unexpected error: MemoryError: a 128 GiB allocation"),
        ("c.wav", 1, None),
    ]


def test_escape_keeps_a_name_on_one_field() -> None:
    assert escape("a\tb\nc\\d\x1b[31m é") == "a\\tb\\nc\\\\d\\x1b[31m é"
    assert escape("caf\udce9.wav") == "caf\\udce9.wav"  # an undecodable byte of a file name
