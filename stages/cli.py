"""`digits`: the pipeline's command line. Each DVC stage runs one of these commands."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from stages import DigitsError
from stages.segment import PauseParams

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
    """Accuracy on the test split with white, speech-shaped and babble noise at noise.snr_db: metrics/noise.json."""
    from stages import noise as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("noise", params)))


@app.command()
def gallery(params: ParamsFile = Path("params.yaml")) -> None:
    """Draw waveform, log-mel spectrogram and MFCC of a few random clips into metrics/gallery.png."""
    from stages import gallery as stage
    from stages.params import load_section

    _run(lambda: stage.run(load_section("gallery", params)))


@app.command()
def export() -> None:
    """Export models/model.keras to ONNX (models/model.onnx), checked against Keras on every clip."""
    from stages import export as stage

    _run(stage.run)


@app.command()
def predict(
    paths: Annotated[
        list[str], typer.Argument(help="Audio files (WAV, FLAC, OGG), directories to search, or - for standard input.")
    ],
    model: Annotated[Path, typer.Option(help="Model directory of the pipeline, or a .onnx / .keras file.")] = Path(
        "models"
    ),
    runtime: Annotated[
        str, typer.Option(help="auto: the ONNX export when current, else Keras | onnx | keras.")
    ] = "auto",
    json_lines: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, with all ten probabilities.")
    ] = False,
    sequence: Annotated[
        bool, typer.Option("--sequence", help="Each file holds several digits: split it at pauses.")
    ] = False,
    max_seconds: Annotated[float, typer.Option(help="Longest single-digit input, in seconds.")] = 10.0,
    min_pause: Annotated[
        float, typer.Option(help="--sequence: shortest pause between two digits, seconds.")
    ] = PauseParams.min_pause,
    min_digit: Annotated[float, typer.Option(help="--sequence: shortest digit, seconds.")] = PauseParams.min_digit,
    threshold_db: Annotated[
        float, typer.Option(help="--sequence: how far above the noise floor speech is, dB.")
    ] = PauseParams.threshold_db,
) -> None:
    """Print the digit spoken in each file: path, digit, confidence (tab-separated).

    With --sequence, print the digits of each file and, below, each digit's start and end (s).
    Inputs that cannot be used get one line each on stderr and the exit code is 1; the others
    are still predicted.
    """
    import json
    from dataclasses import asdict

    from stages.predict import predict as recognise
    from stages.runtime import open_model

    pauses = PauseParams(min_pause=min_pause, min_digit=min_digit, threshold_db=threshold_db) if sequence else None
    failed = 0

    def stage() -> None:
        nonlocal failed
        for result in recognise(open_model(model, runtime), paths, max_seconds, pauses):
            if result.error:
                failed += 1
                typer.echo(f"{result.path}: {result.error}", err=True)
            elif json_lines:
                typer.echo(json.dumps({k: v for k, v in asdict(result).items() if v is not None and v != []}))
            elif result.segments is None:
                typer.echo(f"{result.path}\t{result.digit}\t{result.confidence:.3f}")
            else:
                typer.echo(f"{result.path}\t" + " ".join(str(s["digit"]) for s in result.segments))
                for s in result.segments:
                    typer.echo(f"  {s['start']:.2f}-{s['end']:.2f} s\t{s['digit']}\t{s['confidence']:.3f}")

    _run(stage)
    if failed:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
