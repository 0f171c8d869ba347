"""`digits predict`: the digit spoken in each recording, or the digits of a recording of several.

Features come from the same `extract` as in training, with the feature params stored with the
model, so a model always gets the features it was trained on; a clip's probabilities are combined
over its views (the clip and, with `features.test_speeds`, the clip played faster or slower). Any
rate, channel count and sample format libsndfile reads is accepted; every input either gets a
prediction or a one-line reason.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digits import DigitsError
from digits.audio import AUDIO_EXTENSIONS, AudioError, TooLong, decode, open_regular, read_stdin
from digits.dsp import to_mono
from digits.features import select_input
from digits.openset import refusal
from digits.recognise import Model, clip_features, clips_features, recognise
from digits.segment import PauseParams, split_at_pauses

if TYPE_CHECKING:  # the Whisper runtime is imported only when it is used
    from digits.whisper_head import WhisperDetector, WhisperModel

STDIN = "-"
SEQUENCE_SECONDS = 600.0  # the longest input `--sequence` decodes: a bound on memory, not a setting


@dataclass
class Prediction:
    """One input's outcome: a digit (or, with `segments`, digits), `no_digit` heard and why, or the `error` that
    stopped it."""

    path: str
    digit: int | None = None
    confidence: float = 0.0
    probabilities: list[float] = field(default_factory=list)
    segments: list[dict] | None = None
    no_digit: str | None = None
    error: str | None = None

    def to_json(self) -> dict:
        """The fields `digits predict --json` prints (and `digits serve` answers): those that are set; no
        `confidence` with `no_digit`."""
        fields = {k: v for k, v in asdict(self).items() if v is not None and v != []}
        return {k: v for k, v in fields.items() if not (self.no_digit and k == "confidence")}


def expand(paths: Iterable[str]) -> Iterator[str]:
    """Inputs as given, with each directory replaced by the audio files under it, sorted."""
    for path in paths:
        if path != STDIN and Path(path).is_dir():
            found = sorted(str(p) for p in Path(path).rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
            yield from found or [path]
        else:
            yield path


def load(path: str, min_seconds: float, max_seconds: float, data: bytes | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 samples and rate of a file, of the bytes on standard input for `-`, or of `data` when given
    (`path` then only names it), between `min_seconds` and `max_seconds` long; no more than `max_seconds` of it
    is ever decoded.

    Raises `AudioError` with a reason meant for the user when the input is not usable audio (`TooLong` when it
    is too long).
    """
    if data is not None:
        source = io.BytesIO(data)
    elif path != STDIN and Path(path).is_dir():
        raise AudioError(f"no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))}) in this directory")
    else:
        source = read_stdin() if path == STDIN else open_regular(path)
    with source as file:
        y, sr = decode(file, min_seconds, max_seconds)
    return to_mono(y), sr


def scored(probabilities: np.ndarray) -> dict:
    """`digit`, `confidence` and `probabilities` (rounded) from one row of class probabilities."""
    return {
        "digit": int(probabilities.argmax()),
        "confidence": round(float(probabilities.max()), 6),
        "probabilities": [round(float(p), 6) for p in probabilities],
    }


def model_input(model: Model, y: np.ndarray, sr: int) -> np.ndarray:
    """What `model` reads for audio `y` at `sr` Hz, one row per view."""
    return select_input(model.meta["input"], *clip_features(model, y, sr))


def heard(detector: Model | WhisperDetector, classes: np.ndarray, parts: bool = False) -> list[str | None]:
    """For each clip given as the `detector`'s class probabilities `(n, classes)`: why no digit was heard in it, or
    None. `parts`: the clips are parts of a digit string, judged at the detector's threshold for those
    (`sequence_threshold`, where it has one)."""
    labels, threshold, signals = detector.meta["labels"], detector.meta["threshold"], detector.meta.get("signals", [])
    if parts:
        threshold = detector.meta.get("sequence_threshold", threshold)
    return [refusal(row, labels, threshold, signals) for row in classes]


def predict(
    model: Model,
    paths: Iterable[str],
    seconds: tuple[float, float],
    sequence: PauseParams | None = None,
    detector: Model | None = None,
) -> Iterator[Prediction]:
    """A `Prediction` per input of `expand(paths)`, in order; `seconds`: (shortest, longest) single digit.

    Without `sequence` each input is one spoken digit. With it, each input is split at pauses by
    `split_at_pauses` and every part recognised. With a `detector` (see `digits.openset`), an input (or
    part) in which it hears no digit gets `no_digit` and its reason instead of a digit.
    """
    for path in expand(paths):
        yield prediction(model, path, seconds, sequence, detector)


def prediction(model: Model, path: str, *args: object, **kwargs: object) -> Prediction:
    """`predict_one(model, path, ...)`, or a `Prediction` with the `error` that stopped it: one bad input must
    never cost the others, whatever went wrong (even a MemoryError)."""
    try:
        return predict_one(model, path, *args, **kwargs)
    except AudioError as err:
        return Prediction(path, error=str(err))
    except Exception as err:
        return Prediction(path, error=f"unexpected error: {type(err).__name__}: {err}")


def recognised(
    model: Model | WhisperModel, detector: Model | WhisperDetector | None, clips: list[np.ndarray], sr: int,
    parts: bool = False,
) -> tuple[np.ndarray, list[str | None]]:  # fmt: skip
    """(class probabilities `(n, 10)`, why no digit was heard or None) of mono clips at `sr` Hz (`parts` of a
    digit string: see `heard`; no refusal without a `detector`).

    Each recogniser's detector reads what it reads: the Whisper model's (`runtime` "whisper") its pooled states
    and zero-shot scores, the MFCC model's the features of its views (one pass of the front end for both).
    """
    if model.runtime == "whisper":
        reading = model.read(clips, sr)
        probabilities = np.exp(reading.log_proba)
        classes = detector.probabilities(reading.states, reading.scores) if detector is not None else None
    else:
        found = clips_features(model, clips, sr)
        probabilities, _ = recognise(model, select_input(model.meta["input"], *found))
        classes = recognise(detector, select_input(detector.meta["input"], *found))[0] if detector is not None else None
    return probabilities, [None] * len(clips) if classes is None else heard(detector, classes, parts)


def predict_one(
    model: Model,
    path: str,
    seconds: tuple[float, float],
    sequence: PauseParams | None = None,
    detector: Model | None = None,
    data: bytes | None = None,
    sequence_seconds: float = SEQUENCE_SECONDS,
) -> Prediction:
    """The `Prediction` of one input (see `predict`), the file at `path` or, when given, the audio bytes `data`
    (named `path`); an `AudioError` when it is no usable audio. A digit string is at most `sequence_seconds`."""
    min_seconds, max_seconds = seconds
    if sequence is None:
        try:
            y, sr = load(path, min_seconds, max_seconds, data)
        except TooLong as err:
            too_long = f"{err.seconds:.1f} s long, over {max_seconds:g} s for one digit (see --sequence)"
            raise AudioError(too_long) from None
        [row], [no_digit] = recognised(model, detector, [y], sr)
        return Prediction(path, no_digit=no_digit) if no_digit else Prediction(path, **scored(row))
    y, sr = load(path, min_seconds, sequence_seconds, data)
    parts = split_at_pauses(y, sr, sequence)
    if not parts:
        raise AudioError("no speech found")
    rows, refusals = recognised(model, detector, [y[start:end] for start, end in parts], sr, parts=True)
    segments = [
        {"start": round(start / sr, 3), "end": round(end / sr, 3), **({"no_digit": no} if no else scored(row))}
        for (start, end), row, no in zip(parts, rows, refusals, strict=True)
    ]
    if all("no_digit" in segment for segment in segments):
        return Prediction(path, no_digit=f"none of its {len(segments)} parts (the first: {segments[0]['no_digit']})")
    return Prediction(path, segments=segments)


def open_recogniser(model: Path, frontend: str, runtime: str = "auto", refuse: bool = True, threads: int = 0) -> tuple:
    """(the recogniser `frontend` names in the pipeline's model folder `model` (or an MFCC model file), its
    "no digit heard" detector or None). The Whisper recogniser and its detector lie in `model/whisper`, fused
    with the MFCC model as stage `fusion` chose; `runtime` chooses how an MFCC model runs."""
    from digits.runtime import open_detector, open_fusion, open_model

    if frontend == "mfcc" or model.is_file():
        opened = open_model(model, runtime)
        return opened, open_detector(model, opened, threads) if refuse else None
    if frontend != "whisper":
        raise DigitsError(f"unknown front end {frontend!r}; choose whisper or mfcc")
    if runtime != "auto":
        raise DigitsError("--runtime chooses how the MFCC model runs: use it with --frontend mfcc")
    from digits.whisper_head import open_whisper, open_whisper_detector

    return open_whisper(model, threads, open_fusion(model)), open_whisper_detector(model) if refuse else None
