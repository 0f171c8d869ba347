"""Stage `gallery`: a PNG of a few random clips, each as waveform, log-mel spectrogram and MFCC."""

from pathlib import Path

import librosa.display
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from stages.audio import read_audio
from stages.features import feature_params
from stages.frontend import log_mel, mfcc, normalise, resample, to_mono, trim_silence


def run(
    params: dict,
    manifest: Path = Path("data/manifest.parquet"),
    features: Path = Path("data/features"),
    out: Path = Path("metrics/gallery.png"),
) -> None:
    """Run the stage with the `gallery` params section; the front end pictured is the one `features` was made with."""
    p = feature_params(features)
    clips = pd.read_parquet(manifest)
    picked = clips.sample(n=min(params["clips"], len(clips)), random_state=params["seed"])
    fig, axes = plt.subplots(len(picked), 3, figsize=(13, 2.2 * len(picked)), squeeze=False)
    for row, clip in zip(axes, picked.itertuples(), strict=True):
        y, sr = read_audio(clip.path)
        y = resample(to_mono(y), sr, p.sample_rate)
        speech = trim_silence(y, p)
        librosa.display.waveshow(y, sr=p.sample_rate, ax=row[0])
        row[0].set_title(f"{Path(clip.path).name}: digit {clip.label}, speaker {clip.speaker}")
        librosa.display.specshow(
            log_mel(speech, p),
            sr=p.sample_rate,
            hop_length=p.hop_length,
            x_axis="time",
            y_axis="mel",
            fmax=p.fmax,
            ax=row[1],
        )
        row[1].set_title("log-mel spectrogram (silence trimmed)")
        librosa.display.specshow(
            normalise(mfcc(speech, p)), sr=p.sample_rate, hop_length=p.hop_length, x_axis="time", ax=row[2]
        )
        row[2].set_title(f"{p.n_mfcc} MFCC, normalised per utterance")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    print(f"{len(picked)} clips pictured in {out}")
