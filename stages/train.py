"""Stage `train`: fit the Keras model on the train split (plus its augmented copies).

The recipe (`fit`) is shared with `crossval`: a fixed number of epochs with a cosine-decayed
learning rate and SpecAugment-style masks on every batch of matrices. Saves `models/model.keras`
with `models/model.json` (the feature params it was trained with) and logs the curves, with the
validation split, through dvclive under `metrics/train/`.
"""

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from dvclive import Live
from dvclive.keras import DVCLiveCallback

from stages import DigitsError
from stages.features import load_features
from stages.frontend import select_input
from stages.models import INPUTS, build, save
from stages.perturb import spec_augment


class Batches(keras.utils.PyDataset):
    """Mini-batches of `(x, y)` in a new seeded order each epoch, matrices masked by `spec_augment`."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, masks: dict) -> None:
        super().__init__()
        self.x, self.y, self.batch_size, self.masks = x, y, batch_size, masks
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        x = spec_augment(self.x[rows], self.rng, **self.masks) if self.masks else self.x[rows]
        return x, self.y[rows]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.x))


def fit(
    kind: str,
    model_params: dict,
    params: dict,
    x: np.ndarray,
    y: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 2,
) -> tuple[keras.Model, keras.callbacks.History]:
    """Build model `kind` and train it on `(x, y)` with the `train` params; seeded and deterministic."""
    if kind not in INPUTS:
        raise DigitsError(f"unknown model kind {kind!r}; choose one of {', '.join(INPUTS)}")
    keras.utils.set_random_seed(params["seed"])
    tf.config.experimental.enable_op_determinism()
    model = build(kind, x, **model_params.get(kind, {}))
    steps = params["epochs"] * -(-len(x) // params["batch_size"])
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(params["learning_rate"], steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    masks = params.get("spec_augment", {}) if x.ndim == 3 else {}
    batches = Batches(x, y, params["batch_size"], params["seed"], masks)
    history = model.fit(
        batches, validation_data=validation, epochs=params["epochs"], callbacks=callbacks, verbose=verbose
    )
    return model, history


def training_set(
    keys: pd.DataFrame, x: np.ndarray, rows: np.ndarray, copies: tuple[pd.DataFrame, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """`(x, labels)` of the clips at boolean `rows` of `keys`, plus their augmented `copies` if given.

    A copy whose babble is the voice of a speaker outside `rows` (`noise_speaker`) is left out, so
    that no held-out voice is heard in training, not even as noise.
    """
    x_train, y_train = x[rows], keys["label"].to_numpy()[rows]
    if copies is None:
        return x_train, y_train
    copy_keys, copy_x = copies
    voices = {"", *keys["speaker"][rows]}
    mine = (copy_keys["path"].isin(keys["path"][rows]) & copy_keys["noise_speaker"].isin(voices)).to_numpy()
    return np.concatenate([x_train, copy_x[mine]]), np.concatenate([y_train, copy_keys["label"].to_numpy()[mine]])


def load_inputs(
    kind: str, features: Path, augmented: Path, views: bool = False
) -> tuple[pd.DataFrame, np.ndarray, tuple[pd.DataFrame, np.ndarray] | None, dict]:
    """(keys, model inputs, augmented (keys, inputs) or None, feature params) for model `kind`.

    With `views`, the inputs of every test-time view of each clip, `(n, views, ...)` (view 0: the clip).
    """
    if kind not in INPUTS:
        raise DigitsError(f"unknown model kind {kind!r}; choose one of {', '.join(INPUTS)}")
    keys, matrix, summary, feature_params = load_features(features, views)
    copies = None
    if any(augmented.glob("*.parquet")):
        copy_keys, copy_matrix, copy_summary, copy_params = load_features(augmented)
        if copy_params != feature_params:
            raise DigitsError(f"{augmented} was made with other feature params than {features}; rerun augment")
        copies = copy_keys, select_input(INPUTS[kind], copy_matrix, copy_summary)
    return keys, select_input(INPUTS[kind], matrix, summary), copies, feature_params.to_dict()


def run(
    params: dict,
    model_params: dict,
    features: Path = Path("data/features"),
    augmented: Path = Path("data/augmented"),
    out_dir: Path = Path("models"),
    live_dir: Path = Path("metrics/train"),
) -> None:
    """Run the stage with the `train` and `model` params sections."""
    kind = model_params["kind"]
    keys, x, copies, feature_params = load_inputs(kind, features, augmented)
    train, val = (keys["split"] == "train").to_numpy(), (keys["split"] == "val").to_numpy()
    if not train.any() or not val.any():
        raise DigitsError("training needs clips in both the train and the val split (see ingest.val_size)")
    x_train, y_train = training_set(keys, x, train, copies)
    print(f"{kind}: training on {len(x_train)} examples ({train.sum()} clips and their augmented copies)")
    live = Live(str(live_dir), dvcyaml=None, save_dvc_exp=False)
    validation = (x[val], keys["label"].to_numpy()[val])
    model, history = fit(kind, model_params, params, x_train, y_train, validation, [DVCLiveCallback(live=live)])
    val_accuracy = float(history.history["val_accuracy"][-1])
    live.summary.update(epochs=params["epochs"], final_val_accuracy=val_accuracy, parameters=model.count_params())
    live.make_summary()
    meta = {"kind": kind, "input": INPUTS[kind], "feature_params": feature_params, "labels": list(range(10))}
    save(model, meta, out_dir)
    print(f"{kind}: {model.count_params()} parameters, val accuracy {val_accuracy:.4f} after {params['epochs']} epochs")
