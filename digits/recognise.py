"""The one recogniser: a model's class probabilities for clips given as their test-time views.

`evaluate`, `crossval`, `noise` and `digits predict` all go through `recognise`, with a Keras or
an ONNX model (`digits.runtime`).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from digits.features import FeatureParams, extract, extract_views, select_input


class Model(Protocol):
    """What `recognise` needs of a model (`digits.runtime.KerasModel` or `OnnxModel`); `meta` is its `model.json`,
    `frontend` the folder of its pretrained front end's model (None: it has none)."""

    meta: dict
    frontend: Path | None

    def probabilities(self, x: np.ndarray) -> np.ndarray: ...


def view_probabilities(probabilities: Callable[[np.ndarray], np.ndarray], views: np.ndarray) -> np.ndarray:
    """Class probabilities `(n, views, 10)` of clips given as views `(n, views, ...)` (see `extract_views`),
    all through `probabilities` as one batch.
    """
    n, count = views.shape[:2]
    return probabilities(views.reshape(n * count, *views.shape[2:])).reshape(n, count, -1)


def combine_views(probabilities: np.ndarray) -> np.ndarray:
    """Each clip's class probabilities `(n, 10)` from those of its views `(n, views, 10)`: their geometric
    mean, renormalised (a class must suit every view; it beat the plain mean in leave-one-speaker-out runs).
    """
    log_mean = np.log(np.maximum(probabilities, 1e-12)).mean(axis=1)
    combined = np.exp(log_mean - log_mean.max(axis=1, keepdims=True))
    return combined / combined.sum(axis=1, keepdims=True)


def recognise(model: Model, views: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(combined `(n, 10)`, per view `(n, views, 10)`) class probabilities of clips given as views `(n, views, ...)`."""
    per_view = view_probabilities(model.probabilities, views)
    return combine_views(per_view), per_view


def clip_features(model: Model, y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(matrices, summaries) of every view of audio `y` at `sr` Hz: `extract` with the model's feature params."""
    return extract(y, sr, FeatureParams.from_dict(model.meta["feature_params"]), model.frontend)


def clips_features(model: Model, clips: list[np.ndarray], sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(matrices, summaries) of every view of each clip at `sr` Hz, stacked, as `model` reads them: one batch, which
    gives each clip what `clip_features` gives it alone."""
    params = FeatureParams.from_dict(model.meta["feature_params"])
    return extract_views([(y, sr) for y in clips], params, model.frontend)


def clip_probabilities(model: Model, clips: list[np.ndarray], sr: int) -> np.ndarray:
    """Class probabilities `(n, 10)` of mono clips at `sr` Hz, each over its views."""
    return recognise(model, select_input(model.meta["input"], *clips_features(model, clips, sr)))[0]
