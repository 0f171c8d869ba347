"""Stage `train`: fit the Keras model on the train split, early-stopped on the validation split.

Saves `models/model.keras` with `models/model.json` (the feature params it was trained with) and
logs training curves with dvclive under `metrics/train/`.
"""

import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from dvclive import Live
from dvclive.keras import DVCLiveCallback

from stages import DigitsError
from stages.features import load_features
from stages.models import INPUTS, build, save, select_input


def run(
    params: dict,
    model_params: dict,
    features: Path = Path("data/features"),
    out_dir: Path = Path("models"),
    live_dir: Path = Path("metrics/train"),
) -> None:
    """Run the stage with the `train` and `model` params sections."""
    keys, matrix, summary, feature_params = load_features(features)
    kind = model_params["kind"]
    if kind not in INPUTS:
        raise DigitsError(f"unknown model kind {kind!r}; choose one of {', '.join(INPUTS)}")
    x = select_input(INPUTS[kind], matrix, summary)
    y = keys["label"].to_numpy()
    train, val = (keys["split"] == "train").to_numpy(), (keys["split"] == "val").to_numpy()
    if not train.any() or not val.any():
        raise DigitsError("training needs clips in both the train and the val split (see ingest.val_size)")

    keras.utils.set_random_seed(params["seed"])
    tf.config.experimental.enable_op_determinism()
    model = build(kind, x[train], **model_params.get(kind, {}))
    model.compile(
        optimizer=keras.optimizers.Adam(params["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    live = Live(str(live_dir), dvcyaml=None, save_dvc_exp=False)
    stop = keras.callbacks.EarlyStopping(patience=params["patience"], restore_best_weights=True)
    started = time.perf_counter()
    history = model.fit(
        x[train],
        y[train],
        validation_data=(x[val], y[val]),
        epochs=params["epochs"],
        batch_size=params["batch_size"],
        callbacks=[stop, DVCLiveCallback(live=live)],
        verbose=2,
    )
    seconds = time.perf_counter() - started
    best = int(np.argmin(history.history["val_loss"]))
    live.summary.update(
        best_epoch=best + 1,
        best_val_accuracy=float(history.history["val_accuracy"][best]),
        epochs_run=len(history.history["val_loss"]),
        parameters=model.count_params(),
    )
    live.make_summary()
    meta = {"kind": kind, "input": INPUTS[kind], "feature_params": feature_params.to_dict(), "labels": list(range(10))}
    save(model, meta, out_dir)
    print(
        f"{kind}: {model.count_params()} parameters, best epoch {best + 1}, "
        f"val accuracy {history.history['val_accuracy'][best]:.4f}, {seconds:.1f} s"
    )
