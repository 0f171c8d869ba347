"""`digits predict`: the digit spoken in each audio file, by the trained model.

Features come from the same `extract` as in training, with the params saved beside the model.
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from stages.audio import AUDIO_EXTENSIONS, read_audio
from stages.frontend import FeatureParams, extract
from stages.models import load, select_input


def expand(paths: list[Path]) -> Iterator[Path]:
    """Files as given, and the audio files under any directory, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
        else:
            yield path


def predict(paths: list[Path], model_dir: Path) -> Iterator[tuple[Path, int, float] | tuple[Path, str]]:
    """`(path, digit, confidence)` for each readable clip, `(path, reason)` for the others."""
    model, meta = load(model_dir)
    p = FeatureParams(**meta["feature_params"])
    for path in expand(paths):
        try:
            y, sr = read_audio(path)
        except (OSError, sf.LibsndfileError, RuntimeError) as err:
            yield path, f"cannot read audio: {err}"
            continue
        if y.size == 0 or not np.isfinite(y).all():
            yield path, "no usable samples (empty, NaN or infinite)"
            continue
        matrix, summary = extract(y, sr, p)
        x = select_input(meta["input"], matrix, summary)
        probabilities = model.predict(x[None], verbose=0)[0]
        yield path, int(probabilities.argmax()), float(probabilities.max())
