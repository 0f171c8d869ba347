"""Stage `whisper_negatives`: Whisper tiny.en's pooled encoder states and zero-shot digit scores of every non-digit.

python -m stages.whisper_negatives data/negatives models/whisper/tiny.en data/whisper_negatives
"""

from pathlib import Path

import pandas as pd

from digits import stage
from digits.negatives import SPLITS, read_negatives
from digits.params import WhisperFeaturesParams
from digits.whisper_table import featurise_files


def run(p: WhisperFeaturesParams, negatives: Path, model: Path, features: Path) -> None:
    """Write the Whisper feature table of the non-digits under `negatives`, by the model in the folder `model`."""
    clips = pd.DataFrame(
        [(str(path), split, kind) for split in SPLITS for path, kind in read_negatives(negatives, split)],
        columns=["path", "split", "kind"],
    )
    print(featurise_files(clips, model, features, p))


if __name__ == "__main__":
    stage.main(run)
