"""Stage `whisper_augment`: Whisper features of noisy copies of every clip the Whisper head learns from.

    python -m stages.whisper_augment data/manifest.parquet models/whisper/tiny.en data/whisper_augmented

`whisper_augment.copies` copies of each clip of the real corpora outside the test split, mixed with babble
(other speakers' clips) or white noise as stage `augment` mixes MFCC's copies (its `noise_prob`,
`babble_share`, `talkers`, `snr_db`, `babble_snr` and `seed`); no speed or pitch change.
"""

from pathlib import Path

from digits import stage
from digits.params import AugmentParams, WhisperAugmentParams, WhisperFeaturesParams
from digits.whisper_table import augment


def run(
    p: WhisperAugmentParams, features: WhisperFeaturesParams, noise: AugmentParams, manifest: Path, model: Path,
    augmented: Path,
) -> None:  # fmt: skip
    """Write the Whisper features of the noisy copies to the folder `augmented`, by the model in `model`."""
    print(augment(manifest, model, augmented, features, p.copies, noise))


if __name__ == "__main__":
    stage.main(run)
