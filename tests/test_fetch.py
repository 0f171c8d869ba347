"""The fetch stage: local copies and downloads, verified against a SHA-256 lock."""

import functools
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from digits import DigitsError
from digits.fetching import fetch, read_lock

FILES = {"0_a_0.wav": b"RIFF zero", "1_a_0.wav": b"RIFF one", "2_b_3.wav": b"RIFF two"}
LOCK = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


def build_archive(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving the folder it returns; yields (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def release(files: dict[str, bytes]) -> dict[str, bytes]:
    return {f"pkg-1.0/recordings/{name}": data for name, data in files.items()} | {"pkg-1.0/README.md": b"hi"}


def test_download_is_verified_and_extracted(server: tuple[str, Path], tmp_path: Path) -> None:
    url, www = server
    build_archive(www / "v1.tar.gz", release(FILES))
    message = fetch(f"{url}/v1.tar.gz", "pkg-1.0/recordings", None, LOCK, tmp_path / "raw")
    assert "3 files verified" in message and "archive" in message
    assert {p.name: p.read_bytes() for p in (tmp_path / "raw").iterdir()} == FILES


def test_a_tampered_download_is_refused_whole(server: tuple[str, Path], tmp_path: Path) -> None:
    url, www = server
    build_archive(www / "v1.tar.gz", release({**FILES, "1_a_0.wav": b"RIFF evil"}))
    with pytest.raises(DigitsError, match=r"(?s)1 of 3 files failed verification.*SHA-256 mismatch: 1_a_0.wav"):
        fetch(f"{url}/v1.tar.gz", "pkg-1.0/recordings", None, LOCK, tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_a_missing_download_is_a_clear_error(server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = server
    with pytest.raises(DigitsError, match=r"cannot download .*404"):
        fetch(f"{url}/nothing.tar.gz", "pkg-1.0/recordings", None, LOCK, tmp_path / "raw")


@pytest.mark.parametrize(
    ("files", "links", "message"),
    [
        ({"../escape.wav": b"x"}, {}, "escapes the target directory"),
        ({"/tmp/absolute.wav": b"x"}, {}, "escapes the target directory"),
        ({}, {"pkg-1.0/recordings/0_a_0.wav": "../../../../etc/passwd"}, "link points outside"),
    ],
)
def test_archives_that_escape_are_refused(
    server: tuple[str, Path], tmp_path: Path, files: dict, links: dict, message: str
) -> None:
    url, www = server
    build_archive(www / "bad.tar.gz", files, links)
    with pytest.raises(DigitsError, match=message):
        fetch(f"{url}/bad.tar.gz", "pkg-1.0/recordings", None, LOCK, tmp_path / "out" / "raw")
    assert not (tmp_path / "escape.wav").exists()
    assert not (tmp_path / "out" / "raw").exists()


def test_local_copy_is_preferred_and_verified(tmp_path: Path) -> None:
    local = tmp_path / "copy"
    local.mkdir()
    for name, data in FILES.items():
        (local / name).write_bytes(data)
    (local / "extra.txt").write_text("not in the lock, not copied")
    message = fetch("http://127.0.0.1:9/unused", "x", str(local), LOCK, tmp_path / "raw")
    assert "local copy" in message
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(FILES)

    (local / "2_b_3.wav").unlink()
    with pytest.raises(DigitsError, match=r"missing: 2_b_3\.wav"):
        fetch("http://127.0.0.1:9/unused", "x", str(local), LOCK, tmp_path / "raw2")


def test_lock_file_parsing(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_text(f"{'a' * 64}  0_a_0.wav\n\n{'B' * 64} *sub/1_a_0.wav\n".replace(" *", "  *"))
    assert read_lock(lock) == {"0_a_0.wav": "a" * 64, "sub/1_a_0.wav": "b" * 64}
    lock.write_text("not a lock\n")
    with pytest.raises(DigitsError, match="not a 'sha256  path' line"):
        read_lock(lock)


def test_shipped_lock_matches_the_shared_copy() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "sha256sums.txt"
    if not shared.is_file():
        pytest.skip(f"no shared FSDD copy at {shared}")
    shipped = read_lock(Path(__file__).resolve().parents[1] / "data" / "fsdd-v1.0.10.sha256")
    assert shipped == read_lock(shared)
    assert len(shipped) == 3000
