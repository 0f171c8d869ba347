"""Stage `features`: MFCC matrix and summary vector of every manifest clip and its test-time views, to Parquet.

python -m stages.features data/manifest.parquet data/features
"""

from pathlib import Path

from digits import stage
from digits.engines import featurise
from digits.frontend import FeatureParams
from digits.params import FeaturesParams


def run(p: FeaturesParams, manifest: Path, features: Path) -> None:
    """Write the feature table of the clips of `manifest` to the folder `features`, on all cores or Dask."""
    print(featurise(manifest, features, FeatureParams.of(p), p.rows_per_file, p.engine, p.workers, p.scheduler))


if __name__ == "__main__":
    stage.main(run)
