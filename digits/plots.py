"""Figures: the confusion matrix, and a gallery of clips as waveform, log-mel spectrogram and what a model reads."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import ConfusionMatrixDisplay

from digits.audio import read_audio
from digits.dsp import log_mel, resample, to_mono
from digits.features import FeatureParams, trim_silence


def confusion_figure(actual: np.ndarray, predicted: np.ndarray, dest: Path) -> None:
    """Save the confusion matrix of the ten digits, titled with the accuracy, as the PNG `dest`."""
    display = ConfusionMatrixDisplay.from_predictions(actual, predicted, labels=range(10), colorbar=False)
    display.ax_.set_title(f"Test split: accuracy {np.mean(actual == predicted):.4f} on {len(actual)} clips")
    display.figure_.savefig(dest, dpi=100, bbox_inches="tight")


def gallery_figure(clips: pd.DataFrame, matrices: np.ndarray, p: FeatureParams, dest: Path) -> None:
    """Save the manifest rows `clips`, each as waveform, log-mel spectrogram and its matrix of `matrices` (what the
    model reads, made by front end `p`), as `dest`."""
    fig, axes = plt.subplots(len(clips), 3, figsize=(13, 2.2 * len(clips)), squeeze=False)
    bands, fmin, fmax = p.mel_bands
    for row, clip, matrix in zip(axes, clips.itertuples(), matrices, strict=True):
        y, sr = read_audio(clip.path)
        y = resample(to_mono(y), sr, p.sample_rate)
        speech = trim_silence(y, p)
        # a plain line, not librosa's waveshow: its adaptive envelope redraws the whole figure once per clip
        row[0].plot(np.arange(len(y)) / p.sample_rate, y, linewidth=0.5)
        row[0].set(xlim=(0, len(y) / p.sample_rate), xlabel="Time (s)")
        row[0].set_title(f"{Path(clip.path).name}: digit {clip.label}, speaker {clip.speaker}")
        librosa.display.specshow(
            log_mel(speech, p.sample_rate, p.n_fft, p.hop_length, bands, fmin, fmax),
            sr=p.sample_rate,
            hop_length=p.hop_length,
            x_axis="time",
            y_axis="mel",
            fmin=fmin,
            fmax=fmax,
            ax=row[1],
        )
        row[1].set_title("log-mel spectrogram (silence trimmed)")
        librosa.display.specshow(matrix, ax=row[2])
        row[2].set_title(f"{p.matrix} {matrix.shape[0]} x {matrix.shape[1]}: what the model reads")
    fig.tight_layout()
    fig.savefig(dest, dpi=80)
