"""Versioning on remotes: push, fresh clone, pull, and nothing to recompute; corruption is caught.

Two remotes: the default local-folder remote of `.dvc/config`, and a WebDAV server (wsgidav, basic
auth) on 127.0.0.1 reached through dvc-webdav. Nothing here touches any address but loopback.
"""

import hashlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
import yaml

from tests.conftest import Project
from tests.corpus import synth_clip

pytestmark = pytest.mark.slow  # end-to-end: `make check` leaves it out

OUTS = ["data/raw", "data/manifest.parquet", "data/rejects.parquet", "data/features", "data/augmented", "models"]
# Through WebDAV, two stages' outputs, a file and a folder (the local remote round-trips every output).
WEBDAV_STAGES = ["train", "whisper_train"]
WEBDAV_OUTS = ["models/model.keras", "models/model.json", "models/whisper/head"]


def commit(project: Project, message: str) -> None:
    project.run("git", "add", "-A")
    project.run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)


def hashes(root: Path, outs: list[str] = OUTS) -> dict[str, str]:
    """SHA-256 of every file of the DVC outputs `outs` under `root`."""
    files = [p for out in outs for p in sorted((root / out).rglob("*")) if p.is_file()]
    files += [root / out for out in outs if (root / out).is_file()]
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def pushed(pipeline_run: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the shared project after its `dvc repro`, committed, and pushed to its default remote."""
    project = pipeline_run.copy(tmp_path_factory.mktemp("remote") / "project")
    commit(project, "a run")
    assert "files pushed" in project.run("dvc", "push")
    return project


def clone(project: Project, name: str) -> Project:
    """A fresh `git clone` of `project` next to it (so a relative local remote is the same folder)."""
    target = project.root.parent / name
    project.run("git", "clone", "-q", str(project.root), str(target))
    copy = Project.__new__(Project)
    copy.root = target
    return copy


def assert_restored(original: Project, copy: Project) -> None:
    """The pulled outputs are the pushed ones, byte for byte, and `dvc repro` has nothing to do."""
    assert hashes(copy.root) == hashes(original.root) and len(hashes(copy.root)) > 180
    assert "Data and pipelines are up to date" in copy.run("dvc", "status")
    ran, _ = copy.repro()
    assert ran == []


def test_default_local_remote_round_trip(pushed: Project) -> None:
    storage = pushed.root.parent / "digits-dvc-storage"  # .dvc/config: ../../digits-dvc-storage
    assert any((storage / "files" / "md5").iterdir())
    copy = clone(pushed, "teammate")
    assert not (copy.root / "models").exists()
    copy.run("dvc", "pull")
    assert_restored(pushed, copy)


@pytest.fixture
def webdav(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A WebDAV server on 127.0.0.1 (user `digits`, password `s3cret`) serving a fresh folder; (url, folder)."""
    folder = tmp_path / "dav"
    (folder / "dvc").mkdir(parents=True)  # the remote's base collection, as a server admin would create it
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "host": "127.0.0.1",
        "port": port,
        "provider_mapping": {"/": str(folder)},
        "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
        "simple_dc": {"user_mapping": {"*": {"digits": {"password": "s3cret"}}}},
        "logging": {"enable": False},
    }
    (tmp_path / "wsgidav.yaml").write_text(yaml.safe_dump(config))
    wsgidav = Path(sys.executable).parent / "wsgidav"
    server = subprocess.Popen(
        [str(wsgidav), "--config", str(tmp_path / "wsgidav.yaml")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            pytest.fail(f"wsgidav did not start: {server.stderr.read().decode() if server.poll() is not None else ''}")
        yield f"webdav://127.0.0.1:{port}/dvc", folder / "dvc"
    finally:
        server.terminate()
        server.wait(10)


def test_webdav_remote_round_trip_with_credentials_kept_out_of_git(pushed: Project, webdav: tuple[str, Path]) -> None:
    url, folder = webdav
    pushed.run("dvc", "remote", "add", "webdav", url)
    pushed.run("dvc", "remote", "modify", "--local", "webdav", "user", "digits")
    pushed.run("dvc", "remote", "modify", "--local", "webdav", "password", "s3cret")
    assert "s3cret" not in (pushed.root / ".dvc" / "config").read_text()
    assert "config.local" not in pushed.run("git", "status", "--porcelain", "--ignored=no")
    assert "files pushed" in pushed.run("dvc", "push", "-r", "webdav", *WEBDAV_STAGES)
    assert any((folder / "files" / "md5").iterdir())
    commit(pushed, "webdav remote")

    copy = clone(pushed, "webdav-teammate")
    wrong = copy.attempt("dvc", "pull", "-v", "-r", "webdav", *WEBDAV_STAGES)
    assert wrong.returncode != 0 and "401 (Not Authorized)" in wrong.stdout + wrong.stderr  # no credentials: refused
    copy.run("dvc", "remote", "modify", "--local", "webdav", "user", "digits")
    copy.run("dvc", "remote", "modify", "--local", "webdav", "password", "s3cret")
    copy.run("dvc", "pull", "-r", "webdav", *WEBDAV_STAGES)
    assert hashes(copy.root, WEBDAV_OUTS) == hashes(pushed.root, WEBDAV_OUTS)
    assert len(hashes(copy.root, WEBDAV_OUTS)) == 4 and "models/whisper/head/head.npz" in hashes(copy.root, WEBDAV_OUTS)


def object_of(project: Project, out: str) -> str:
    """The md5 under which DVC stores the file output `out` (from dvc.lock)."""
    lock = yaml.safe_load((project.root / "dvc.lock").read_text())
    return next(o["md5"] for s in lock["stages"].values() for o in s.get("outs", []) if o["path"] == out)


def corrupt(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_corrupted_object_in_the_remote_is_refused(pushed: Project) -> None:
    md5 = object_of(pushed, "data/manifest.parquet")
    remote_object = pushed.root.parent / "digits-dvc-storage" / "files" / "md5" / md5[:2] / md5[2:]
    good = remote_object.read_bytes()
    corrupt(remote_object)
    try:
        copy = clone(pushed, "unlucky")
        result = copy.attempt("dvc", "pull", "-v")
        assert result.returncode != 0
        assert "corrupted cache file" in result.stdout + result.stderr
        assert not (copy.root / "data" / "manifest.parquet").exists()  # not used
        assert (copy.root / "data" / "features").is_dir()  # the sound objects are
    finally:
        remote_object.write_bytes(good)


def test_a_corrupted_cache_object_is_reported_and_recomputed(pushed: Project) -> None:
    copy = clone(pushed, "cache-rot")
    copy.run("dvc", "pull")
    manifest = copy.root / "data" / "manifest.parquet"
    expected = hashlib.sha256(manifest.read_bytes()).hexdigest()
    md5 = object_of(copy, "data/manifest.parquet")
    corrupt(copy.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:])
    manifest.unlink()
    copy.attempt("dvc", "checkout")
    status = copy.run("dvc", "status")
    assert "ingest" in status and "data/manifest.parquet" in status  # DVC's checksum: not what dvc.lock says
    ran, _ = copy.repro()
    assert ran == ["ingest"]  # recomputed, not used; the same manifest, so nothing after it reruns
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == expected


def test_new_recordings_become_a_new_dataset_version(pushed: Project, corpus: Path) -> None:
    """`dvc add` a recordings folder, train on it; add a speaker's batch; `dvc metrics diff` shows the change."""
    copy = clone(pushed, "recorder")
    copy.run("dvc", "pull")
    shutil.copytree(corpus, copy.root / "recordings")
    copy.run("dvc", "add", "recordings")
    sources = copy.params()["ingest"]["sources"]
    fsdd = {**sources["fsdd"], "data_dir": "recordings"}
    copy.set_params(
        ingest={"sources": {**sources, "fsdd": fsdd}}, train={"epochs": 3}, crossval={"speakers": ["fsdd/s0"]}
    )
    ran, _ = copy.repro("train")  # the data's way to the model, not every stage
    assert "ingest" in ran and "train" in ran
    commit(copy, "dataset v1: the synthetic corpus")

    for digit in range(10):  # a new batch: a fourth voice, 60 clips
        for take in range(6):
            sf.write(copy.root / "recordings" / f"{digit}_s9_{take}.wav", synth_clip(digit, 9, take), 8000, "PCM_16")
    assert "recordings.dvc" in copy.run("dvc", "status")
    assert "recordings" in copy.run("dvc", "data", "status")
    copy.run("dvc", "add", "recordings")
    ran, _ = copy.repro("train")  # the data's way to the model, not every stage
    assert "ingest" in ran and "train" in ran
    diff = copy.run("dvc", "metrics", "diff", "--md")
    assert "accepted" in diff and "180" in diff and "240" in diff
    assert "speakers" in diff
