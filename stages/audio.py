"""Reading audio files: any format libsndfile reads (WAV of any bit depth, FLAC, OGG)."""

from pathlib import Path

import numpy as np
import soundfile as sf

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg"})


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as float32 `(samples,)` or `(samples, channels)` in [-1, 1], and the sample rate."""
    y, sr = sf.read(path, dtype="float32", always_2d=False)
    return y, sr
