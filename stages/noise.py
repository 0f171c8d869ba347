"""Stage `noise`: accuracy of the trained model on the test split with noise added at several SNRs.

    python -m stages.noise data/manifest.parquet models models/frontend metrics/noise.json

Three noises: white; speech-shaped (stationary Gaussian noise with the long-term spectrum of
train-split speech, no words in it); and babble, train-split clips summed (never the clip under test),
which does hold other digits. Every noisy clip goes through the model's own `extract_views` (a pretrained
front end's model taken from the folder `frontend`), as `digits predict` would see it. Each condition's
accuracy is the mean over `draws` independent noise draws (their standard deviation goes to `draw_std`): one
draw of babble moves it by a few points.
Seeded, so the figures are reproducible.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from digits import DigitsError, stage, write_json
from digits.audio import read_clips
from digits.features import FeatureParams, extract_views, select_input
from digits.noisy import in_noise, noise_lines
from digits.params import NoiseParams
from digits.recognise import recognise
from digits.runtime import KerasModel


def run(p: NoiseParams, manifest: Path, models: Path, frontend: Path, noise_json: Path) -> None:
    """Score the model in the folder `models` on the test split of `manifest` in every noise condition."""
    model = KerasModel.load(models)
    features = FeatureParams.from_dict(model.meta["feature_params"])
    clips = pd.read_parquet(manifest)
    test = clips[clips["split"] == "test"]
    train = clips[(clips["split"] == "train") & ~clips["training_only"]]  # real voices only
    if test.empty or train.empty:
        raise DigitsError("the noise test needs clips in the test split and in the train split (for babble)")
    rng = np.random.default_rng(p.seed)
    audio = read_clips(test["path"], features.sample_rate)
    pool = read_clips(train["path"].sample(min(p.babble_pool, len(train)), random_state=p.seed), features.sample_rate)
    labels = test["label"].to_numpy()

    def accuracy(batch: list[np.ndarray]) -> dict[str, float]:
        x = select_input(
            model.meta["input"], *extract_views([(y, features.sample_rate) for y in batch], features, frontend)
        )
        return {"accuracy": round(float(np.mean(recognise(model, x)[0].argmax(axis=1) == labels)), 6)}

    scores = in_noise(audio, pool, p.kinds, p.snr_db, p.draws, p.talkers, rng, accuracy)["accuracy"]
    write_json(noise_json, scores)
    print(noise_lines(scores, p.kinds, p.snr_db))


if __name__ == "__main__":
    stage.main(run)
