"""Stage `whisper_noise`: test-split accuracy of the Whisper recogniser, as shipped and alone, and of its zero-shot
scores in noise.

    python -m stages.whisper_noise data/manifest.parquet models/whisper/tiny.en models/whisper/head
        models/whisper/fusion.json models metrics/whisper/noise.json

As shipped (`whisper`) is Whisper fused with the MFCC model in `models` at the weight in `fusion.json`;
`whisper_alone` is Whisper's head and zero-shot scores. The noises of stage `noise` (its kinds, babble pool,
talkers and seed), mixed at the test clips' own rate, at `whisper_noise.snr_db` over `whisper_noise.draws` draws:
Whisper costs about 50 times MFCC's time a clip.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from digits import DigitsError, stage, write_json
from digits.audio import read_clips
from digits.noisy import in_noise, noise_lines
from digits.params import NoiseParams, WhisperNoiseParams
from digits.runtime import open_fusion
from digits.whisper_head import WhisperModel


def run(
    p: WhisperNoiseParams, noise: NoiseParams, manifest: Path, model: Path, head: Path, fusion: Path, mfcc: Path,
    noise_json: Path,
) -> None:  # fmt: skip
    """Score the Whisper recogniser (`model`: Whisper's files, `head`: the head, fused at the weight in `fusion`
    with the MFCC model in the folder `mfcc`) on the test split in noise."""
    recogniser = WhisperModel(head, model, fusion=open_fusion(mfcc, fusion))
    clips = pd.read_parquet(manifest)
    test = clips[clips["split"] == "test"]
    train = clips[(clips["split"] == "train") & ~clips["training_only"]]  # real voices only
    if test.empty or train.empty:
        raise DigitsError("the noise test needs clips in the test split and in the train split (for babble)")
    rate = int(test["sample_rate"].mode().iloc[0])
    rng = np.random.default_rng(noise.seed)
    audio = read_clips(test["path"], rate)
    pool = read_clips(train["path"].sample(min(noise.babble_pool, len(train)), random_state=noise.seed), rate)
    labels = test["label"].to_numpy()

    def accuracy(batch: list[np.ndarray]) -> dict[str, float]:
        found = [recogniser.read(batch[i : i + p.batch_size], rate) for i in range(0, len(batch), p.batch_size)]
        right = {
            name: np.concatenate([getattr(reading, field) for reading in found]).argmax(axis=1) == labels
            for name, field in (("whisper", "log_proba"), ("whisper_alone", "whisper"), ("zero_shot", "scores"))
        }
        return {name: round(float(np.mean(hits)), 6) for name, hits in right.items()}

    scores = in_noise(audio, pool, noise.kinds, p.snr_db, p.draws, noise.talkers, rng, accuracy)
    write_json(noise_json, scores)
    for name, found in scores.items():
        print(f"{name}: {noise_lines(found, noise.kinds, p.snr_db)}")


if __name__ == "__main__":
    stage.main(run)
