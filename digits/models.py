"""Keras model builders. Each takes the training inputs (to adapt its normalisation) and its params."""

import keras
import numpy as np

# Which features each model kind reads: the front end's matrices (MFCC or embeddings) or the summary vectors.
READS = {"cnn": "matrix", "head": "matrix", "mlp": "summary"}


def input_name(kind: str, matrix: str) -> str:
    """The feature column model `kind` reads, `matrix` being the front end's matrices (`FeatureParams.matrix`)."""
    return matrix if READS[kind] == "matrix" else "summary"


def build_mlp(x_train: np.ndarray, hidden: list[int], dropout: float, classes: int = 10) -> keras.Model:
    """Dense net on the summary vector, standardised by statistics of the training set."""
    norm = keras.layers.Normalization()
    norm.adapt(x_train)
    layers = [keras.Input(x_train.shape[1:]), norm]
    for units in hidden:
        layers += [keras.layers.Dense(units, activation="relu"), keras.layers.Dropout(dropout)]
    layers.append(keras.layers.Dense(classes, activation="softmax"))
    return keras.Sequential(layers, name="mlp")


def build_cnn(
    x_train: np.ndarray, filters: list[int], kernel_size: int, dropout: float, classes: int = 10
) -> keras.Model:
    """Convolutions over time on `(coefficients, frames)` matrices, one pooling step per block.

    Coefficients are the channels (a TDNN-like net); global average pooling over time keeps the
    parameter count independent of the clip length. A block pools only while there are frames to halve.
    """
    layers, frames = [keras.Input(x_train.shape[1:]), keras.layers.Permute((2, 1))], x_train.shape[2]
    for width in filters:
        layers += [
            keras.layers.Conv1D(width, kernel_size, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
        ]
        if frames >= 2:
            layers.append(keras.layers.MaxPooling1D(2))
            frames //= 2
    layers += [
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(classes, activation="softmax"),
    ]
    return keras.Sequential(layers, name="cnn")


def build_head(x_train: np.ndarray, filters: int, kernel_size: int, dropout: float, classes: int = 10) -> keras.Model:
    """A small head on embedding sequences `(numbers, steps)`: each number standardised (batch normalisation),
    one convolution over time, average and max pooling over time, dropout, softmax."""
    sequences = keras.Input(x_train.shape[1:])
    standardised = keras.layers.BatchNormalization()(keras.layers.Permute((2, 1))(sequences))
    hidden = keras.layers.Conv1D(filters, kernel_size, padding="same", activation="relu")(standardised)
    pooled = keras.layers.Concatenate()(
        [keras.layers.GlobalAveragePooling1D()(hidden), keras.layers.GlobalMaxPooling1D()(hidden)]
    )
    outputs = keras.layers.Dense(classes, activation="softmax")(keras.layers.Dropout(dropout)(pooled))
    return keras.Model(sequences, outputs, name="head")


BUILDERS = {"cnn": build_cnn, "head": build_head, "mlp": build_mlp}


def build(kind: str, x_train: np.ndarray, params: dict, classes: int = 10) -> keras.Model:
    """Build the model `kind` (see `BUILDERS`) with its own params (keyword arguments of its builder), `classes`
    outputs."""
    if kind not in BUILDERS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(BUILDERS)}")
    return BUILDERS[kind](x_train, **params, classes=classes)
