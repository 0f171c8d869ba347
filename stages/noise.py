"""Stage `noise`: accuracy of the trained model on the test split with noise added at several SNRs.

Three noises: white; speech-shaped (stationary Gaussian noise with the long-term spectrum of
train-split speech, no words in it); and babble, train-split clips summed (never the clip under test),
which does hold other digits. Every noisy clip goes through the model's own `extract_views`, as
`digits predict` would see it. Each condition's accuracy is the mean over `draws` independent noise
draws (their standard deviation goes to `draw_std`): one draw of babble moves it by a few points.
Seeded, so the figures are reproducible. Writes `metrics/noise.json`.
"""

import json
from functools import partial
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
from tqdm import tqdm

from stages import DigitsError
from stages.augment import speaker_clips
from stages.frontend import FeatureParams, extract_views, select_input
from stages.models import load
from stages.perturb import add_noise, babble, white_noise
from stages.runtime import combine_views, view_probabilities

NOISE_KINDS = ("white", "speech_shaped", "babble")


def long_term_spectrum(clips: list[np.ndarray], n_fft: int = 512) -> np.ndarray:
    """Mean power spectrum (`n_fft // 2 + 1` bins) of `clips`, each level-normalised first."""
    speech = np.concatenate([y / (y.std() + 1e-9) for y in clips])
    return np.mean(np.abs(librosa.stft(speech, n_fft=n_fft, hop_length=n_fft // 2, center=False)) ** 2, axis=1)


def coloured_noise(power: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of Gaussian noise whose power spectrum has the shape of `power` (bins 0 … Nyquist)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    gain = np.sqrt(np.interp(np.linspace(0, 1, len(spectrum)), np.linspace(0, 1, len(power)), power))
    return np.fft.irfft(spectrum * gain, n).astype(np.float32)


def noisy_batch(
    clips: list[np.ndarray], kind: str, snr_db: float, pool: list[np.ndarray], rng: np.random.Generator
) -> list[np.ndarray]:
    """`clips` each mixed with `kind` noise (`white`, or `speech_shaped` or `babble` from `pool`) at `snr_db`."""
    if kind == "white":
        return [add_noise(y, white_noise(len(y), rng), snr_db) for y in clips]
    if kind == "speech_shaped":
        power = long_term_spectrum(pool)
        return [add_noise(y, coloured_noise(power, len(y), rng), snr_db) for y in clips]
    if kind == "babble":
        return [add_noise(y, babble(pool, len(y), rng), snr_db) for y in clips]
    raise DigitsError(f"unknown noise kind {kind!r}; choose from {', '.join(NOISE_KINDS)}")


def run(
    params: dict,
    manifest: Path = Path("data/manifest.parquet"),
    model_dir: Path = Path("models"),
    out_file: Path = Path("metrics/noise.json"),
) -> None:
    """Run the stage with the `noise` params section."""
    unknown = [kind for kind in params["kinds"] if kind not in NOISE_KINDS]
    if unknown:
        raise DigitsError(f"unknown noise kind(s) {unknown} in params; choose from {', '.join(NOISE_KINDS)}")
    if params["draws"] < 1:
        raise DigitsError(f"noise.draws must be at least 1: {params['draws']}")
    model, meta = load(model_dir)
    p = FeatureParams(**meta["feature_params"])
    clips = pd.read_parquet(manifest)
    test = clips[clips["split"] == "test"]
    train = clips[clips["split"] == "train"]
    if test.empty or train.empty:
        raise DigitsError("the noise test needs clips in the test split and in the train split (for babble)")
    rng = np.random.default_rng(params["seed"])
    audio = speaker_clips(test["path"], p.sample_rate)
    pool = speaker_clips(
        train["path"].sample(min(params["babble_pool"], len(train)), random_state=params["seed"]), p.sample_rate
    )
    labels = test["label"].to_numpy()

    def accuracy(batch: list[np.ndarray]) -> float:
        x = select_input(meta["input"], *extract_views([(y, p.sample_rate) for y in batch], p))
        probabilities = view_probabilities(partial(model.predict, verbose=0, batch_size=256), x)
        return round(float(np.mean(combine_views(probabilities).argmax(axis=1) == labels)), 6)

    conditions = [(kind, snr) for kind in params["kinds"] for snr in params["snr_db"]]
    draws = np.array(
        [
            [accuracy(noisy_batch(audio, kind, snr, pool, rng)) for kind, snr in conditions]
            for _ in tqdm(range(params["draws"]), desc="noise draws", unit="draw")
        ]
    )
    scores: dict = {"test_clips": len(test), "draws": params["draws"], "clean": accuracy(audio)}
    spread: dict = {}
    for (kind, snr), mean, std in zip(conditions, draws.mean(axis=0), draws.std(axis=0), strict=True):
        scores.setdefault(kind, {})[f"snr_{snr}db"] = round(float(mean), 6)
        spread.setdefault(kind, {})[f"snr_{snr}db"] = round(float(std), 6)
    scores["draw_std"] = spread
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(scores, indent=2) + "\n")
    lines = [
        f"{kind}: " + ", ".join(f"{snr} dB {scores[kind][f'snr_{snr}db']:.3f}" for snr in params["snr_db"])
        for kind in params["kinds"]
    ]
    print(f"clean {scores['clean']:.3f}; " + "; ".join(lines))
