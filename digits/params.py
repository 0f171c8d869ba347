"""The sections of `params.yaml`, one typed, frozen object each, validated before any work.

Defaults live only in `params.yaml`: every key is required here, an unknown key is refused, and
a wrong type or an out-of-range value stops the stage with one line naming the key.
"""

from pathlib import Path
from typing import Annotated, ClassVar, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from digits import DigitsError

Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Seconds = Annotated[float, Field(gt=0)]


class Params(BaseModel):
    """A section (or sub-section) of `params.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # schemas built when first used


class Section(Params):
    """A top-level section; `name` is its key in `params.yaml`."""

    name: ClassVar[str]


class FetchParams(Section):
    name = "fetch"
    url: str
    archive_root: str
    lock: str
    local_copy: str | None


def yaml_off(value: object) -> object:
    """`off` for YAML's `off` (which YAML 1.1 reads as False), else `value` unchanged."""
    return "off" if value is False else value


class SourceParams(Params):
    data_dir: str
    layout: Literal["auto", "fsdd", "audiomnist", "folders"]
    use: Annotated[Literal["all", "train", "off"], BeforeValidator(yaml_off)]


CorpusName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*$")]
Range = tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]]


def in_order(section: Params, *keys: str) -> None:
    """Raise ValueError unless each `[low, high]` param of `keys` has low <= high."""
    for key in keys:
        low, high = getattr(section, key)
        if low > high:
            raise ValueError(f"{key} must be [low, high]: {[low, high]}")


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class FrontendParams(Section):
    name = "frontend"
    package: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+==[A-Za-z0-9.]+$")]
    sha256: dict[Literal["melspectrogram", "embedding_model"], Sha256]
    opset: Annotated[int, Field(ge=13, le=21)]
    wheel: str | None

    @model_validator(mode="after")
    def _both_pinned(self) -> Self:
        if len(self.sha256) != 2:
            raise ValueError("sha256 must pin both melspectrogram and embedding_model")
        return self


WhisperFile = Literal["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"]


class WhisperModelParams(Section):
    name = "whisper_model"
    package: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+==[A-Za-z0-9.]+$")]
    folder: str
    sha256: dict[WhisperFile, Sha256]
    model_dir: str | None

    @model_validator(mode="after")
    def _all_pinned(self) -> Self:
        if len(self.sha256) != 4:
            raise ValueError("sha256 must pin model.bin, config.json, tokenizer.json and vocabulary.txt")
        return self


class WhisperFeaturesParams(Section):
    name = "whisper_features"
    window: Annotated[float, Field(gt=0, le=30)]
    compute_type: Literal["int8", "int8_float32", "float32"]
    batch_size: Positive
    threads: Count
    engine: Literal["local", "dask"]
    workers: Count
    scheduler: str | None


class WhisperAugmentParams(Section):
    name = "whisper_augment"
    copies: Positive


class WhisperNoiseParams(Section):
    name = "whisper_noise"
    snr_db: Annotated[list[float], Field(min_length=1)]
    draws: Positive
    batch_size: Positive


class WhisperHeadParams(Section):
    name = "whisper_head"
    c: Annotated[float, Field(gt=0)]
    training_only_corpora: bool
    weights: Annotated[list[Annotated[float, Field(ge=0)]], Field(min_length=1)]


class WhisperDetectorParams(Section):
    name = "whisper_detector"
    c: Annotated[float, Field(gt=0)]
    max_false_refusals: Annotated[float, Field(ge=0, lt=1)]
    folds: Annotated[int, Field(ge=2)]
    refuse_signals: bool


class SynthParams(Section):
    name = "synth"
    voices: dict[Literal["espeak-ng", "flite", "festival"], Count]
    espeak_accents: Annotated[list[str], Field(min_length=1)]
    espeak_skip: list[str]
    flite_voices: Annotated[list[str], Field(min_length=1)]
    festival_voices: Annotated[list[str], Field(min_length=1)]
    takes: Positive
    rate: Range
    pitch: Range
    tract: Range
    jitter: Annotated[float, Field(ge=0, lt=0.5)]
    level: tuple[Annotated[float, Field(gt=0, le=1)], Annotated[float, Field(gt=0, le=1)]]
    sample_rate: Annotated[int, Field(ge=1000, le=192_000)]
    seed: Count

    @model_validator(mode="after")
    def _ranges_in_order(self) -> Self:
        in_order(self, "rate", "pitch", "tract", "level")
        return self


class NegativesParams(Section):
    name = "negatives"
    clips: Positive
    val_clips: Positive
    test_clips: Positive
    seconds: Range
    voices: dict[Literal["espeak-ng", "flite", "festival"], Count]
    words_per_voice: Positive
    near_digits: bool
    val_share: Annotated[float, Field(gt=0, lt=1)]
    test_share: Annotated[float, Field(gt=0, lt=1)]
    seed: Count

    @model_validator(mode="after")
    def _ranges_in_order(self) -> Self:
        in_order(self, "seconds")
        if self.val_share + self.test_share >= 1:
            raise ValueError(f"val_share + test_share must be under 1: {self.val_share} + {self.test_share}")
        return self


class IngestParams(Section):
    name = "ingest"
    sources: Annotated[dict[CorpusName, SourceParams], Field(min_length=1)]
    split: Literal["random", "fsdd", "speaker"]
    test_size: Annotated[float, Field(gt=0, lt=1)]
    test_speakers: list[str]
    val_size: Annotated[float, Field(ge=0, lt=1)]
    min_seconds: Annotated[float, Field(ge=0)]
    max_seconds: Seconds
    seed: Count

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not any(source.use == "all" for source in self.sources.values()):
            raise ValueError("sources: at least one corpus needs `use: all` (the one that is split and scored)")
        if self.min_seconds >= self.max_seconds:
            raise ValueError(f"min_seconds ({self.min_seconds}) must be under max_seconds ({self.max_seconds})")
        return self


class MfccFeatureParams(Params):
    n_mels: Positive
    n_mfcc: Positive
    fmin: Annotated[float, Field(ge=0)]
    fmax: Annotated[float, Field(gt=0)]
    frames: Annotated[int, Field(ge=2)]
    length: Literal["resize", "crop"]
    segments: Positive

    @model_validator(mode="after")
    def _bands_fit(self) -> Self:
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
        if not self.fmin < self.fmax:
            raise ValueError(f"need fmin < fmax: {self.fmin}, {self.fmax}")
        return self


class EmbeddingFeatureParams(Params):
    steps: Annotated[int, Field(ge=1, le=100)]


class FeaturesParams(Section):
    name = "features"
    frontend: Literal["mfcc", "speech_embedding"]
    sample_rate: Annotated[int, Field(ge=1000, le=192_000)]
    n_fft: Annotated[int, Field(ge=16)]
    hop_length: Positive
    trim_db: Annotated[float, Field(gt=0)]
    test_speeds: list[Annotated[float, Field(ge=0.5, le=2)]]
    mfcc: MfccFeatureParams
    speech_embedding: EmbeddingFeatureParams
    rows_per_file: Positive
    engine: Literal["local", "dask"]
    workers: Count
    scheduler: str | None

    @model_validator(mode="after")
    def _bands_below_nyquist(self) -> Self:
        if self.mfcc.fmax > self.sample_rate / 2:
            raise ValueError(f"need mfcc.fmax <= sample_rate / 2 ({self.sample_rate / 2:g}): {self.mfcc.fmax}")
        return self


class AugmentParams(Section):
    name = "augment"
    copies: Count
    training_only_copies: Count
    speed: Annotated[float, Field(ge=0, lt=0.5)]
    pitch: Annotated[float, Field(ge=0, le=12)]
    pitch_shift: Literal["vocoder", "resample"]
    noise_prob: Share
    babble_share: Share
    babble_from: Literal["own", "other"]
    talkers: tuple[Positive, Positive]
    snr_db: tuple[float, float]
    babble_snr: Literal["total", "per_talker"]
    reverb_prob: Share
    rt60: Range
    band_prob: Share
    band_low_hz: Range
    band_high_hz: Range
    seed: Count

    @model_validator(mode="after")
    def _ranges_in_order(self) -> Self:
        in_order(self, "talkers", "snr_db", "rt60", "band_low_hz", "band_high_hz")
        if self.band_low_hz[1] >= self.band_high_hz[0]:
            low, high = list(self.band_low_hz), list(self.band_high_hz)
            raise ValueError(f"band_low_hz {low} must end below band_high_hz {high}")
        return self


class CnnParams(Params):
    filters: Annotated[list[Positive], Field(min_length=1)]
    kernel_size: Positive
    dropout: Annotated[float, Field(ge=0, lt=1)]


class HeadParams(Params):
    filters: Positive
    kernel_size: Positive
    dropout: Annotated[float, Field(ge=0, lt=1)]


class MlpParams(Params):
    hidden: Annotated[list[Positive], Field(min_length=1)]
    dropout: Annotated[float, Field(ge=0, lt=1)]


class ModelParams(Section):
    name = "model"
    kind: Literal["cnn", "head", "mlp"]
    cnn: CnnParams
    head: HeadParams
    mlp: MlpParams

    @property
    def builder(self) -> dict:
        """The chosen kind's own params, as keyword arguments of its builder."""
        return getattr(self, self.kind).model_dump()


class SpecAugmentParams(Params):
    shift: Count
    time_masks: Count
    time_width: Count
    freq_masks: Count
    freq_width: Count


class TrainParams(Section):
    name = "train"
    epochs: Positive
    batch_size: Positive
    learning_rate: Annotated[float, Field(gt=0, le=1)]
    spec_augment: SpecAugmentParams
    seed: Count


class DetectorParams(Section):
    name = "detector"
    cnn: CnnParams
    epochs: Positive
    batch_size: Positive
    learning_rate: Annotated[float, Field(gt=0, le=1)]
    max_false_refusals: Annotated[float, Field(ge=0, lt=1)]
    folds: Annotated[int, Field(ge=2)]
    refuse_signals: bool
    seed: Count


class StringParams(Params):
    count: Count
    length: Positive
    pause: Range
    seed: Count

    @model_validator(mode="after")
    def _pause_in_order(self) -> Self:
        in_order(self, "pause")
        return self


NoiseKind = Literal["white", "speech_shaped", "babble"]


class VoiceNoiseParams(Params):
    kinds: list[NoiseKind]
    snr_db: float
    clips: Count
    talkers: Positive
    babble_pool: Positive
    seed: Count


class CrossvalParams(Section):
    name = "crossval"
    speakers: Literal["all"] | Annotated[list[str], Field(min_length=1)]
    cross_corpus: bool
    workers: Count
    strings: StringParams
    noise: VoiceNoiseParams


class FusionParams(Section):
    name = "fusion"
    weights: Annotated[list[Annotated[float, Field(ge=0)]], Field(min_length=1)]
    max_clean_loss: Share


class NoiseParams(Section):
    name = "noise"
    kinds: Annotated[list[NoiseKind], Field(min_length=1)]
    snr_db: Annotated[list[float], Field(min_length=1)]
    babble_pool: Positive
    talkers: Positive
    draws: Positive
    seed: Count


class GalleryParams(Section):
    name = "gallery"
    clips: Positive
    seed: Count


class SequenceParams(Params):
    frame: Seconds
    threshold_db: Annotated[float, Field(ge=0)]
    range_db: Annotated[float, Field(gt=0)]
    min_pause: Annotated[float, Field(ge=0)]
    min_digit: Annotated[float, Field(ge=0)]
    margin: Annotated[float, Field(ge=0)]


class PredictParams(Section):
    name = "predict"
    frontend: Literal["mfcc", "whisper"]
    min_seconds: Annotated[float, Field(ge=0)]
    max_seconds: Seconds
    sequence: SequenceParams


class ServeParams(Section):
    name = "serve"
    host: str
    port: Annotated[int, Field(ge=0, le=65535)]
    max_bytes: Positive
    sequence_seconds: Seconds


S = TypeVar("S", bound=Section)


def describe(error: dict, section: str) -> str:
    """One line for a pydantic error: the dotted key, then what is wrong and what was given."""
    loc = [str(part) for part in error["loc"] if isinstance(part, int) or "[" not in str(part)]  # no union tags
    key = ".".join([section, *loc])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: missing (every key is required; the defaults live in params.yaml)"
    message = error["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    return f"{key}: {message}" if error["type"] == "value_error" else f"{key}: {message}, got {error['input']!r}"


def read_params(path: Path) -> dict:
    """The params file at `path` as a dict."""
    if not path.is_file():
        raise DigitsError(f"params file not found: {path}")
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise DigitsError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(params, dict):
        raise DigitsError(f"{path} must hold sections of params, not {type(params).__name__}")
    return params


def load(kind: type[S], path: Path = Path("params.yaml")) -> S:
    """Section `kind.name` of the params file at `path`, validated; a one-line DigitsError if it is not valid."""
    params = read_params(path)
    if kind.name not in params:
        raise DigitsError(f"{path}: section '{kind.name}' missing")
    try:
        return kind.model_validate(params[kind.name] or {})
    except ValidationError as err:
        errors = err.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise DigitsError(f"{path}: {describe(errors[0], kind.name)}{more}") from None
