"""Stage `features`: the front end's matrix and summary vector of every manifest clip and its test-time views,
to Parquet (MFCC, or the pretrained front end in `models/frontend` that `features.frontend` names).

python -m stages.features data/manifest.parquet models/frontend data/features
"""

from pathlib import Path

from digits import stage
from digits.engines import featurise
from digits.features import FeatureParams
from digits.params import FeaturesParams


def run(p: FeaturesParams, manifest: Path, frontend: Path, features: Path) -> None:
    """Write the feature table of the clips of `manifest` to the folder `features`, on all cores or Dask, a
    pretrained front end's model taken from the folder `frontend`."""
    params = FeatureParams.of(p)
    print(featurise(manifest, frontend, features, params, p.rows_per_file, p.engine, p.workers, p.scheduler))


if __name__ == "__main__":
    stage.main(run)
