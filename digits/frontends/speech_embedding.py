"""A pretrained speech front end: Google's speech_embedding as openWakeWord packages it, run by ONNX Runtime.

Two models: `melspectrogram` (16 kHz audio on the int16 scale -> 32 mel bands every 10 ms) and
`embedding_model` (76 mel frames, 775 ms -> 96 numbers); an embedding every 8 frames (80 ms). Stage
`frontend` writes them as ONNX (`digits.pretrained`) into a model folder, so that features, training and
`digits predict` need neither a TFLite runtime nor TensorFlow. Their license is unclear (see the README):
this front end is opt-in.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from digits import DigitsError
from digits.dsp import resample

SPEC_AUGMENT = False  # its matrices are not spectrograms: no SpecAugment
PRETRAINED = True  # stage `frontend` obtains its model folder
SAMPLE_RATE = 16_000
DIM = 96  # numbers per embedding
WINDOW, STEP, HOP = 76, 8, 160  # mel frames per embedding, mel frames between embeddings, samples per mel frame
MODELS = ("melspectrogram", "embedding_model")
BATCH = 32  # clips per inference call (smaller batches run a little faster: they stay in cache)


@dataclass(frozen=True)
class Settings:
    """params.yaml's `features.speech_embedding`, as stored with features and models."""

    steps: int  # embeddings per clip


class Params(Protocol):
    """What this front end reads of the feature params (`digits.features.FeatureParams`)."""

    sample_rate: int
    settings: Settings


def matrix_shape(s: Settings) -> tuple[int, int]:
    """(embedding numbers, steps) of a clip's matrix."""
    return DIM, s.steps


def summary_size(s: Settings) -> int:
    """The mean and std of the embeddings over time."""
    return 2 * DIM


def samples_for(steps: int) -> int:
    """Samples of 16 kHz audio that give exactly `steps` embeddings (the mel model drops its first 640 samples' worth
    of padding: `frames = (samples - 640) // 160 + 1`)."""
    return 480 + HOP * (WINDOW + STEP * (steps - 1))


@cache
def sessions(model_dir: Path, threads: int) -> tuple:
    """ONNX Runtime sessions of the two models in `model_dir` (as `obtain` writes them), on `threads` threads
    (0: ONNX Runtime's default, every core)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    found = []
    for name in MODELS:
        path = model_dir / f"{name}.onnx"
        if not path.is_file():
            raise DigitsError(f"no {path}: the speech_embedding front end is not there; run `dvc repro frontend`")
        found.append(onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]))
    return tuple(found)


def embed(audio: np.ndarray, model_dir: Path, threads: int = 0) -> np.ndarray:
    """Embedding sequences `(n, 96, steps)` of 16 kHz clips `(n, samples)` in [-1, 1], all of `samples_for(steps)`
    samples, by the models in `model_dir`. The mel bands are scaled `x / 10 + 2`, as openWakeWord does before its
    embedding model."""
    mel, embedding = sessions(Path(model_dir), threads)
    out = []
    for start in range(0, len(audio), BATCH):
        batch = np.asarray(audio[start : start + BATCH], np.float32) * 32767
        # One clip per call: the mel model's dB floor is relative to the loudest value of the whole batch.
        spectra = np.concatenate([mel.run(None, {mel.get_inputs()[0].name: clip[None]})[0][:, 0] for clip in batch])
        spectra = spectra / 10 + 2  # (b, frames, 32)
        starts = range(0, spectra.shape[1] - WINDOW + 1, STEP)
        windows = np.stack([spectra[:, s : s + WINDOW] for s in starts], axis=1)  # (b, steps, 76, 32)
        vectors = embedding.run(None, {embedding.get_inputs()[0].name: windows.reshape(-1, WINDOW, 32, 1)})[0]
        out.append(vectors.reshape(len(batch), len(starts), DIM).transpose(0, 2, 1))
    return np.concatenate(out) if out else np.empty((0, DIM, 0), np.float32)


def features(
    speech: list[np.ndarray], p: Params, model_dir: Path | None, threads: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(embedding sequences `(n, 96, steps)`, summaries `(n, 192)`: their mean and std over time) of trimmed clips
    at `p.sample_rate`, each resampled to 16 kHz and centred in (or cut to) the model's input."""
    if model_dir is None:
        raise DigitsError("the speech_embedding front end needs its model folder (stage `frontend`: models/frontend)")
    width = samples_for(p.settings.steps)
    batch = np.zeros((len(speech), width), np.float32)
    for row, y in zip(batch, speech, strict=True):
        y = resample(y, p.sample_rate, SAMPLE_RATE)[:width]
        start = (width - len(y)) // 2
        row[start : start + len(y)] = y
    matrices = embed(batch, model_dir, threads)
    return matrices, np.concatenate([matrices.mean(axis=-1), matrices.std(axis=-1)], axis=-1).astype(np.float32)
