"""Stage `augment`: features of `augment.copies` perturbed copies of every clip (speed, pitch, white or babble
noise), for training only, computed with the front-end params stored in the feature table (a pretrained front
end's model taken from `models/frontend`).

    python -m stages.augment data/manifest.parquet data/features models/frontend data/augmented
"""

from pathlib import Path

from digits import stage
from digits.augmentation import augment
from digits.params import AugmentParams
from digits.table import feature_params


def run(p: AugmentParams, manifest: Path, features: Path, frontend: Path, augmented: Path) -> None:
    """Write the perturbed copies of the clips of `manifest` to the folder `augmented`."""
    print(augment(manifest, frontend, augmented, feature_params(features), p))


if __name__ == "__main__":
    stage.main(run)
