"""The training recipe, shared by `train` and `crossval`, and the model's files.

A fixed number of epochs with a cosine-decayed learning rate and SpecAugment-style masks on every
batch of matrices, seeded and deterministic. `save_model` writes the same bytes for the same model.
"""

import io
import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from digits import DigitsError, replacing_file
from digits.features import select_input
from digits.models import build, input_name
from digits.params import ModelParams, SpecAugmentParams, TrainParams
from digits.perturb import spec_augment
from digits.table import load_features


def one_thread() -> None:
    """Run this process's TensorFlow ops on one thread (call it before the first op): the same model bits
    whatever the machine's core count (the thread count changes how sums are split), and for this small
    network as fast as two threads."""
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def threads() -> int:
    """The threads this process's TensorFlow ops run on (0: its default, one per core)."""
    return tf.config.threading.get_intra_op_parallelism_threads()


class Batches(keras.utils.PyDataset):
    """Mini-batches of `(x, y)` in a new seeded order each epoch, matrices masked by `spec_augment`."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, masks: SpecAugmentParams | None
    ) -> None:
        super().__init__()
        self.x, self.y, self.batch_size, self.masks = x, y, batch_size, masks
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        x = spec_augment(self.x[rows], self.rng, self.masks) if self.masks else self.x[rows]
        return x, self.y[rows]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.x))


class EpochLine(keras.callbacks.Callback):
    """One line per epoch: its number, loss and accuracy (and validation accuracy, when there is one)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        val = f", val accuracy {logs['val_accuracy']:.4f}" if "val_accuracy" in logs else ""
        print(
            f"epoch {epoch + 1}/{self.params['epochs']}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.4f}{val}"
        )


def fit(
    model_params: ModelParams,
    p: TrainParams,
    x: np.ndarray,
    y: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    classes: int = 10,
    spec_augment: bool = True,
) -> tuple[keras.Model, keras.callbacks.History]:
    """Build the model of `model_params` with `classes` outputs and train it on `(x, y)` with the `train` params,
    matrices masked by SpecAugment if `spec_augment` (MFCC, not embeddings); seeded and deterministic."""
    keras.utils.set_random_seed(p.seed)
    tf.config.experimental.enable_op_determinism()
    model = build(model_params.kind, x, model_params.builder, classes)
    steps = p.epochs * -(-len(x) // p.batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(p.learning_rate, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,  # XLA gains nothing for this small net on CPU (make bench) and costs compile time
    )
    batches = Batches(x, y, p.batch_size, p.seed, p.spec_augment if spec_augment and x.ndim == 3 else None)
    history = model.fit(batches, validation_data=validation, epochs=p.epochs, callbacks=callbacks, verbose=0)
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
    keys, matrix, summary, feature_params = load_features(features, views)
    name, copies = input_name(kind, feature_params.matrix), None
    if any(augmented.glob("*.parquet")):
        copy_keys, copy_matrix, copy_summary, copy_params = load_features(augmented)
        if copy_params != feature_params:
            raise DigitsError(f"{augmented} was made with other feature params than {features}; rerun augment")
        copies = copy_keys, select_input(name, copy_matrix, copy_summary)
    return keys, select_input(name, matrix, summary), copies, feature_params.to_dict()


def renumber_shared_objects(config: object, ids: dict[int, int]) -> object:
    """`config` (a Keras model config) with each `shared_object_id`, a memory address, replaced by its rank of
    first appearance (recorded in `ids`): the same links between shared objects, the same bytes every run."""
    if isinstance(config, dict):
        return {
            key: ids.setdefault(value, len(ids) + 1)
            if key == "shared_object_id"
            else renumber_shared_objects(value, ids)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [renumber_shared_objects(value, ids) for value in config]
    return config


def reproducible_zip(data: bytes) -> bytes:
    """The `.keras` zip `data` without what changes from run to run: every entry dated 1980-01-01, no `date_saved`
    in its metadata, shared objects numbered in order, so that the same model always has the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == "metadata.json":
                meta = json.loads(content)
                meta.pop("date_saved", None)
                content = json.dumps(meta).encode()
            elif entry.filename == "config.json":
                content = json.dumps(renumber_shared_objects(json.loads(content), {})).encode()
            info = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = entry.compress_type, entry.external_attr
            target.writestr(info, content)
    return out.getvalue()


def save_model(model: keras.Model, meta: dict, keras_file: Path, meta_file: Path) -> None:
    """Write the model as `keras_file` (byte-reproducible) and its `meta` (kind, input, feature params) as
    `meta_file`, each atomically."""
    with replacing_file(keras_file) as partial:
        model.save(partial)
        partial.write_bytes(reproducible_zip(partial.read_bytes()))
    with replacing_file(meta_file) as partial:
        partial.write_text(json.dumps(meta, indent=2) + "\n")
