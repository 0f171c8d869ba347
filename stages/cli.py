"""`digits`: the pipeline's command line. Each DVC stage runs one of these commands."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from stages import DigitsError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow C++ log noise

app = typer.Typer(
    help="Spoken-digit recognition: the DVC pipeline's stages "
    "(fetch → ingest → features → augment → train → evaluate, crossval, noise) and predict.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ParamsFile = Annotated[Path, typer.Option("--params", help="Params file to read the stage's section from.")]


def _run(stage: Callable[[], None]) -> None:
    """Run a stage, turning a DigitsError into a one-line message and exit code 1."""
    try:
        stage()
    except DigitsError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


@app.command()
def fetch(params: ParamsFile = Path("params.yaml")) -> None:
    """Obtain the raw dataset into data/raw/, verified file by file against the SHA-256 lock.

    Uses the local copy (fetch.local_copy, or $DIGITS_DATA_DIR) when present, else downloads fetch.url.
    """
    from stages import fetch as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("fetch", params)))


@app.command()
def ingest(params: ParamsFile = Path("params.yaml")) -> None:
    """Scan ingest.data_dir into data/manifest.parquet (+ rejects and splits) and metrics/data_report.json."""
    from stages import ingest as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("ingest", params)))


@app.command()
def features(params: ParamsFile = Path("params.yaml")) -> None:
    """Compute MFCC matrices and summary vectors of all clips into data/features/ (Parquet)."""
    from stages import features as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("features", params)))


@app.command()
def augment(params: ParamsFile = Path("params.yaml")) -> None:
    """Features of augment.copies perturbed copies of every clip (speed, pitch, noise) into data/augmented/."""
    from stages import augment as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("augment", params)))


@app.command()
def train(params: ParamsFile = Path("params.yaml")) -> None:
    """Train the Keras model (model.kind) on the train split and its augmented copies; save it under models/."""
    from stages import train as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("train", params), load_section("model", params)))


@app.command()
def crossval(params: ParamsFile = Path("params.yaml")) -> None:
    """Leave-one-speaker-out accuracy of the training recipe: metrics/crossval.json."""
    from stages import crossval as stage
    from stages.params import load_section

    _run(
        lambda: stage.run(
            load_section("crossval", params), load_section("train", params), load_section("model", params)
        )
    )


@app.command()
def evaluate() -> None:
    """Score the model on the test split: metrics/eval.json, confusion matrix and report."""
    from stages import evaluate as stage

    _run(stage.run)


@app.command()
def noise(params: ParamsFile = Path("params.yaml")) -> None:
    """Accuracy on the test split with white and babble noise at noise.snr_db: metrics/noise.json."""
    from stages import noise as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("noise", params)))


@app.command()
def gallery(params: ParamsFile = Path("params.yaml")) -> None:
    """Draw waveform, log-mel spectrogram and MFCC of a few random clips into metrics/gallery.png."""
    from stages import gallery as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("gallery", params), load_section("features", params)))


@app.command()
def predict(
    paths: Annotated[list[Path], typer.Argument(help="Audio files, or directories to search for them.")],
    model: Annotated[Path, typer.Option(help="Model directory written by `digits train`.")] = Path("models"),
) -> None:
    """Print the digit spoken in each file: path, digit, confidence (tab-separated).

    Files that cannot be read get a line on stderr; the exit code is 1 if any did.
    """
    from stages.predict import predict as recognise

    failed = 0

    def stage() -> None:
        nonlocal failed
        for path, *result in recognise(paths, model):
            if len(result) == 1:
                failed += 1
                typer.echo(f"{path}: {result[0]}", err=True)
            else:
                typer.echo(f"{path}\t{result[0]}\t{result[1]:.3f}")

    _run(stage)
    if failed:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
