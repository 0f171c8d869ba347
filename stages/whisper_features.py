"""Stage `whisper_features`: Whisper tiny.en's pooled encoder states and zero-shot digit scores of every clip.

python -m stages.whisper_features data/manifest.parquet models/whisper/tiny.en data/whisper_features
"""

from pathlib import Path

from digits import stage
from digits.params import WhisperFeaturesParams
from digits.whisper_table import featurise


def run(p: WhisperFeaturesParams, manifest: Path, model: Path, features: Path) -> None:
    """Write the Whisper feature table of the clips of `manifest`, by the model in the folder `model`."""
    print(featurise(manifest, model, features, p))


if __name__ == "__main__":
    stage.main(run)
