"""Obtaining a dataset, every file verified against a pinned SHA-256 lock (a `sha256sum` listing).

The files come from a local copy when one exists, else from a release archive. Either way only
files listed in the lock are taken, each one checked before it is written.
"""

import hashlib
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from tqdm import tqdm

from digits import DigitsError, replacing_dir


def read_lock(path: str | Path) -> dict[str, str]:
    """Parse a `sha256sum` listing into `{relative path: hex digest}`."""
    lock = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise DigitsError(f"{path}:{number}: not a 'sha256  path' line: {line!r}")
        lock[name.lstrip("*")] = digest.lower()
    if not lock:
        raise DigitsError(f"lock file {path} lists no files")
    return lock


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def copy_verified(src: Path, lock: dict[str, str], dest: Path) -> None:
    """Copy every file of `lock` from `src` to `dest`, refusing the lot if any is missing or differs."""
    problems = []
    for name, digest in tqdm(sorted(lock.items()), desc="verify", unit="file", mininterval=1):
        path = src / name
        if not path.is_file():
            problems.append(f"missing: {name}")
            continue
        data = path.read_bytes()
        if sha256_bytes(data) != digest:
            problems.append(f"SHA-256 mismatch: {name}")
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if problems:
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise DigitsError(f"{len(problems)} of {len(lock)} files failed verification in {src}:\n  {shown}{more}")


def download(url: str, dest: Path) -> None:
    """Stream `url` to the file `dest` with a progress bar."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response, dest.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, desc="download", unit="B", unit_scale=True) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except OSError as err:
        raise DigitsError(f"cannot download {url}: {err}") from err


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a tar archive, refusing it whole if any member would land or link outside `dest`."""
    root = dest.resolve()
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                target = (root / member.name).resolve()
                if not target.is_relative_to(root):
                    raise DigitsError(f"archive member escapes the target directory: {member.name}")
                if member.issym() or member.islnk():
                    base = target.parent if member.issym() else root
                    if not (base / member.linkname).resolve().is_relative_to(root):
                        raise DigitsError(f"archive link points outside the target directory: {member.name}")
                if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                    raise DigitsError(f"archive member is not a file or directory: {member.name}")
            tar.extractall(root, members=members, filter="data")
    except (tarfile.TarError, OSError) as err:
        raise DigitsError(f"cannot extract {archive}: {err}") from err


def fetch(url: str, archive_root: str, local_copy: str | None, lock: dict[str, str], dest: Path) -> str:
    """Fill `dest` with the locked files from `local_copy` if it exists, else from `url`.

    `dest` is replaced only once every file is verified.
    Returns a line saying where the files came from.
    """
    with replacing_dir(dest) as partial:
        if local_copy and Path(local_copy).is_dir():
            copy_verified(Path(local_copy), lock, partial)
            origin = f"local copy {local_copy}"
        else:
            with tempfile.TemporaryDirectory(prefix="digits-fetch-") as tmp:
                archive = Path(tmp) / "archive.tar.gz"
                download(url, archive)
                safe_extract(archive, Path(tmp) / "x")
                copy_verified(Path(tmp) / "x" / archive_root, lock, partial)
            origin = f"archive {url}"
    return f"{len(lock)} files verified against the lock, from {origin}"


def download_wheel(package: str, dest: Path, fix: str) -> Path:
    """Download the wheel of `package` (`name==version`) from the package index into `dest` with pip, no
    dependencies, nothing installed; on failure a DigitsError ending with `fix`."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest)]
    done = subprocess.run([*command, package], capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if done.returncode or not wheels:
        why = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise DigitsError(f"cannot download {package} from the package index ({why}); {fix}")
    return wheels[0]
