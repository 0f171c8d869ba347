"""`digits serve`: a page to say a digit into, and a JSON API, on a model the pipeline trained.

The Whisper recogniser (CTranslate2) or the MFCC model (ONNX Runtime) runs through the same `digits.predict` as
`digits predict` (TensorFlow is never imported), so the API answers exactly what `digits predict --json` prints. Request
bodies are read asynchronously and bounded; decoding and inference run in worker threads, so a
slow upload or a long clip does not hold up other clients.
"""

import json
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from digits import DigitsError
from digits.audio import AudioError
from digits.batching import SharedBatches
from digits.dsp import log_mel, resample
from digits.features import FeatureParams, trim_bounds
from digits.params import PredictParams, ServeParams
from digits.predict import Prediction, load, open_recogniser, prediction
from digits.runtime import (
    DETECTOR_FILE,
    MODEL_FILE,
    ONNX_FILE,
    OnnxModel,
    file_sha256,
    is_current,
    open_detector,
    with_front_end,
)
from digits.segment import PauseParams
from digits.whisper_head import WhisperDetector, WhisperModel

WEB = Path(__file__).parent / "web"  # the page and its scripts: no asset comes from the internet
THREADS = 1  # ONNX Runtime threads per request: requests run side by side, one each is faster than sharing
BATCH = 32  # the most clips of concurrent requests Whisper runs at once (as whisper_features.batch_size)
COLUMNS = 600  # the page's pictures of a recording are at most this many columns wide


@dataclass(frozen=True)
class Service:
    """What the server answers with: the exported model and its detector, and the settings of `digits predict`."""

    model: OnnxModel | WhisperModel
    detector: OnnxModel | WhisperDetector | None
    picture_params: FeatureParams  # the spectrogram the page draws: the MFCC model's (or its detector's) params
    seconds: tuple[float, float]  # shortest and longest single digit
    pauses: PauseParams
    params: ServeParams
    about: dict  # GET /api/model

    def predict(self, data: bytes, name: str, sequence: bool) -> Prediction:
        """What `digits predict [--sequence] NAME` answers for a file holding `data`."""
        return prediction(
            self.model,
            name,
            self.seconds,
            self.pauses if sequence else None,
            self.detector,
            data=data,
            sequence_seconds=self.params.sequence_seconds,
        )

    def view(self, data: bytes, sequence: bool) -> dict:
        """The pictures of `data` the page draws (see `picture`); an `AudioError` when it is no usable audio."""
        longest = self.params.sequence_seconds if sequence else self.seconds[1]
        y, sr = load("-", self.seconds[0], longest, data)
        return picture(y, sr, self.picture_params)


def open_service(model_dir: Path, frontend: str, params: ServeParams, predict: PredictParams, metrics: Path) -> Service:
    """The `Service` of the recogniser `frontend` names in the pipeline's model folder `model_dir` (the MFCC
    model's ONNX export, which must be current, or the Whisper recogniser) and its detector, with `digits
    predict`'s settings. A one-line DigitsError names the command that makes a missing or stale model."""
    onnx_file, keras_file = model_dir / ONNX_FILE, model_dir / MODEL_FILE
    if not onnx_file.is_file():
        raise DigitsError(f"no {onnx_file}: run `dvc repro export` or `dvc pull`")
    mfcc = OnnxModel(onnx_file, THREADS)
    if not is_current(mfcc, keras_file):
        raise DigitsError(f"{onnx_file} is older than {keras_file}: run `dvc repro export` or `dvc pull`")
    mfcc = with_front_end(mfcc, model_dir)  # its feature params checked: the page's pictures are drawn with them
    if frontend == "mfcc":
        model = mfcc
        detector = open_detector(model_dir, model, THREADS)
    else:  # CTranslate2 on every core, on the clips of all the requests waiting at once
        model, detector = open_recogniser(model_dir, frontend, threads=0)
        model.whisper = SharedBatches(model.whisper, BATCH)
    return Service(
        model=model,
        detector=detector,
        picture_params=FeatureParams.from_dict(mfcc.meta["feature_params"]),
        seconds=(predict.min_seconds, predict.max_seconds),
        pauses=PauseParams(**predict.sequence.model_dump()),
        params=params,
        about=describe(model_dir, frontend, model, detector, metrics)
        | {
            "limits": {
                "max_seconds": predict.max_seconds,
                "sequence_seconds": params.sequence_seconds,
                "max_bytes": params.max_bytes,
            }
        },
    )


def read_metric(path: Path) -> dict:
    """A JSON metrics file, or {} when it is not there (yet)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def describe(
    model_dir: Path,
    frontend: str,
    model: OnnxModel | WhisperModel,
    detector: OnnxModel | WhisperDetector | None,
    metrics: Path,
) -> dict:
    """GET /api/model: which model, what it reads, its params and its scores from `metrics/` (`metrics/whisper/`
    for the Whisper recogniser)."""
    meta = model.meta
    if frontend == "whisper":
        metrics = metrics / "whisper"
        fusion = None if model.fusion is None else {"with": str(model_dir / ONNX_FILE), "weight": model.fusion.weight}
        found = {
            "model": str(model_dir / "whisper"),
            "input": "whisper tiny.en" + ("" if fusion is None else f" + MFCC at weight {fusion['weight']:g}"),
            "model_params": meta,
            "fusion": fusion,
        }
    else:
        found = {
            "model": str(model_dir / ONNX_FILE),
            "onnx_sha256": file_sha256(model_dir / ONNX_FILE),
            "input": meta["input"],
            "feature_params": meta["feature_params"],
            "model_params": {k: v for k, v in meta.items() if k not in ("feature_params", "input", "keras_sha256")},
        }
    crossval, scores = read_metric(metrics / "crossval.json"), read_metric(metrics / "eval.json")
    return {
        "frontend": frontend,
        **found,
        "runtime": model.runtime,
        "detector": None
        if detector is None
        else {
            "file": "whisper/detector" if frontend == "whisper" else DETECTOR_FILE,
            "threshold": detector.meta["threshold"],
        },
        "leave_one_speaker_out": {key: crossval[key] for key in ("mean_accuracy", "std_accuracy") if key in crossval}
        | ({"folds": {s: f["accuracy"] for s, f in crossval["folds"].items()}} if "folds" in crossval else {}),
        "test_accuracy": scores.get("accuracy"),
    }


def envelope(y: np.ndarray, columns: int) -> list[list[float]]:
    """(min, max) of `y` in each of at most `columns` equal slices: a waveform to draw."""
    count = max(1, min(columns, len(y)))
    return [[round(float(s.min()), 4), round(float(s.max()), 4)] for s in np.array_split(y, count)]


def picture(y: np.ndarray, sr: int, p: FeatureParams, columns: int = COLUMNS) -> dict:
    """What the page draws of mono audio `y` at `sr` Hz, at the model's rate: the waveform's envelope, the
    log-mel spectrogram (0-255 from 80 dB below its peak, low bands first, frames pooled to at most `columns`)
    and the part the front end keeps after trimming silence (seconds)."""
    y = resample(y, sr, p.sample_rate)
    start, stop = trim_bounds(y[None], np.array([len(y)]), p)
    mel = log_mel(y, p.sample_rate, p.n_fft, p.hop_length, *p.mel_bands)
    mel = np.stack([chunk.max(axis=1) for chunk in np.array_split(mel, min(columns, mel.shape[1]), axis=1)], 1)
    scaled = np.clip((mel - mel.max() + 80) / 80 * 255, 0, 255).round().astype(int)
    return {
        "seconds": round(len(y) / p.sample_rate, 3),
        "sample_rate": p.sample_rate,
        "waveform": envelope(y, columns),
        "mel": scaled.tolist(),
        "kept": [round(int(start[0]) / p.sample_rate, 3), round(int(stop[0]) / p.sample_rate, 3)],
    }


async def body_of(request: Request, limit: int) -> bytes:
    """The request's body, read as it arrives; 413 once it is over `limit` bytes (at once if its length says so)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"too large: {declared} bytes (over {limit})")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HTTPException(413, f"too large: over {limit} bytes")
        chunks.append(chunk)
    if not total:
        raise HTTPException(400, "empty file")
    return b"".join(chunks)


def create_app(service: Service) -> FastAPI:
    """The web application: the page at `/`, its files under `/static`, the JSON API under `/api`, `/healthz`."""
    app = FastAPI(title="digits", summary="Spoken-digit recognition: what the model hears", docs_url="/docs")
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/healthz")
    def healthz() -> dict:
        """200 while the server answers."""
        return {"status": "ok"}

    @app.get("/api/model")
    def about() -> dict:
        """The model served: its file, what it reads, its params and its scores from `metrics/`."""
        return service.about

    @app.post("/api/predict")
    async def predict(request: Request, sequence: bool = False, name: str = "-") -> dict:
        """The body's audio (any format `digits predict` reads): the keys of `digits predict --json`; with
        `sequence=true`, the digits of a digit string. 413 for a body over the limit, 400 or 422 with
        `digits predict`'s reason for anything that is no usable recording."""
        data = await body_of(request, service.params.max_bytes)
        result = await run_in_threadpool(service.predict, data, name, sequence)
        if result.error:
            raise HTTPException(422, result.error)
        return result.to_json()

    @app.post("/api/view")
    async def view(request: Request, sequence: bool = False) -> dict:
        """What the page draws of the body's audio: waveform, log-mel spectrogram, the part kept after trimming."""
        data = await body_of(request, service.params.max_bytes)
        try:
            return await run_in_threadpool(service.view, data, sequence)
        except AudioError as err:
            raise HTTPException(422, str(err)) from None

    return app


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on (`host`, `port`) (port 0: any free one); a one-line DigitsError when it cannot."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # from here on, clients wait in the backlog until the server accepts them
    except OSError as err:
        raise DigitsError(f"cannot listen on {host}:{port}: {(err.strerror or str(err)).lower()}") from None
    sock.set_inheritable(True)
    return sock


def serve(service: Service, host: str, port: int) -> None:
    """Answer on `host`:`port` until interrupted, after one line saying where."""
    import uvicorn

    sock = listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {service.about['model']} on http://{shown}:{bound}/ (Ctrl+C to stop)", flush=True)
    config = uvicorn.Config(create_app(service), log_level="warning", timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])
