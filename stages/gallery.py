"""Stage `gallery`: a picture of a few random clips, each as waveform, log-mel spectrogram and the matrix the model
reads (MFCC by default).

    python -m stages.gallery data/manifest.parquet data/features metrics/gallery.png

The front end pictured is the one the feature table was made with.
"""

from pathlib import Path

import pandas as pd

from digits import stage
from digits.params import GalleryParams
from digits.plots import gallery_figure
from digits.table import load_features


def run(p: GalleryParams, manifest: Path, features: Path, gallery: Path) -> None:
    """Picture `p.clips` clips of `manifest`, drawn with `p.seed`, as the PNG `gallery`."""
    clips = pd.read_parquet(manifest)
    picked = clips.sample(n=min(p.clips, len(clips)), random_state=p.seed)
    keys, matrices, _, front_end = load_features(features)
    row = pd.Series(range(len(keys)), index=keys["path"])
    gallery.parent.mkdir(parents=True, exist_ok=True)
    gallery_figure(picked, matrices[row[picked["path"]].to_numpy()], front_end, gallery)
    print(f"{len(picked)} clips pictured in {gallery}")


if __name__ == "__main__":
    stage.main(run)
