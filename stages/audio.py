"""Reading audio files: any format libsndfile reads (WAV of any bit depth, FLAC, OGG)."""

from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg"})


def read_audio(source: str | Path | BinaryIO) -> tuple[np.ndarray, int]:
    """Samples as float32 `(samples,)` or `(samples, channels)` in [-1, 1], and the sample rate.

    `source` is a path or a binary file object (e.g. WAV bytes from standard input).
    """
    y, sr = sf.read(source, dtype="float32", always_2d=False)
    return y, sr
