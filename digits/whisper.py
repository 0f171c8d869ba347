"""Whisper tiny.en as a front end: its log-mel, its encoder's states pooled over the clip, its zero-shot digit scores.

Whisper (OpenAI's weights, MIT) in CTranslate2 form, run on the CPU by CTranslate2. A clip is resampled to
16 kHz and zero-padded to a short window (`window` seconds, not Whisper's 30 s); its log-mel goes through
the encoder once. Two things are kept of it, both small:
- `states`: the mean and the max over time of the encoder states that cover the clip (2 x 384 numbers);
- `scores`: the zero-shot digit scores, the log-probability of each digit as the first word of the
  transcript when the previous text is "zero one two ... nine" (one decoder step; a digit's spellings,
  " zero", " Zero", "zero", " 0", ..., pooled). Their argmax recognises a digit with no training at all.
`Whisper.features` is the one extractor: the pipeline's stages and `digits predict` both call it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from digits import DigitsError
from digits.dsp import hann, mel_filterbank, resample

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms windows
HOP = 160  # 10 ms hop
N_MELS = 80
STATE_HOP = 2 * HOP  # the encoder halves the frame rate: one state per 20 ms
WIDTH = 384  # tiny.en's encoder states
FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPACE = "\u0120"  # how the byte-level BPE vocabulary writes a leading space


@dataclass(frozen=True)
class WhisperParams:
    """What a Whisper feature table and a Whisper model are made with (params.yaml's `whisper_features`)."""

    window: float
    compute_type: str

    def to_dict(self) -> dict:
        """The params as plain JSON types, as stored with features and models."""
        return asdict(self)

    @property
    def samples(self) -> int:
        """Samples of the window at 16 kHz."""
        return round(self.window * SAMPLE_RATE)


def log_mel(batch: np.ndarray) -> np.ndarray:
    """Whisper's log-mel spectrogram `(n, 80, samples // 160)` of `(n, samples)` audio at 16 kHz.

    As Whisper's own `log_mel_spectrogram` (and faster-whisper's `FeatureExtractor`): centred 400-point Hann
    frames, reflect-padded, the last frame dropped; Slaney mel power; log10, floored 8 below each clip's
    maximum, then `(x + 4) / 4`.
    """
    batch = np.asarray(batch, dtype=np.float32)
    padded = np.pad(batch, ((0, 0), (N_FFT // 2, N_FFT // 2)), mode="reflect")
    framed = sliding_window_view(padded, N_FFT, axis=-1)[:, ::HOP][:, :-1]
    spectrum = np.fft.rfft(framed * hann(N_FFT), axis=-1).astype(np.complex64)
    power = spectrum.real**2 + spectrum.imag**2
    mel = power @ mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS, 0.0, SAMPLE_RATE / 2).T
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max(axis=(1, 2), keepdims=True) - 8.0)
    return np.ascontiguousarray(np.swapaxes((log + 4.0) / 4.0, 1, 2), dtype=np.float32)


def loudest(y: np.ndarray, samples: int) -> np.ndarray:
    """The `samples` consecutive samples of `y` with the most energy (all of `y` when it is no longer)."""
    if len(y) <= samples:
        return y
    energy = np.concatenate([[0.0], np.cumsum(np.square(y, dtype=np.float64))])
    start = int(np.argmax(energy[samples:] - energy[:-samples]))
    return y[start : start + samples]


def windowed(clips: list[np.ndarray], sample_rate: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """`(n, samples)` audio at 16 kHz, each mono clip at `sample_rate` resampled, cut to its loudest `samples`
    or zero-padded to them, and the number of encoder states that cover each clip (at least 1)."""
    batch = np.zeros((len(clips), samples), np.float32)
    states = np.zeros(len(clips), np.int64)
    for i, clip in enumerate(clips):
        y = loudest(resample(np.asarray(clip, np.float32), sample_rate, SAMPLE_RATE), samples)
        batch[i, : len(y)] = y
        states[i] = max(1, -(-len(y) // STATE_HOP))
    return batch, states


def pooled(states: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Mean and max over time `(n, 2 * width)` of encoder states `(n, time, width)`, each clip over its first
    `covered` states only (the rest hear the padding)."""
    mask = np.arange(states.shape[1])[None, :, None] < covered[:, None, None]
    mean = np.where(mask, states, 0).sum(axis=1) / covered[:, None]
    peak = np.where(mask, states, -np.inf).max(axis=1)
    return np.concatenate([mean, peak], axis=1).astype(np.float32)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """`x - logsumexp(x)` along `axis`, in float64."""
    x = np.asarray(x, np.float64)
    top = x.max(axis=axis, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=axis, keepdims=True))


def check_model_dir(model_dir: Path) -> None:
    """A one-line DigitsError naming the fix when `model_dir` lacks one of the model's files or one is empty."""
    for name in FILES:
        path = model_dir / name
        if not path.is_file() or path.stat().st_size == 0:
            fix = "run `dvc repro whisper_model`"
            raise DigitsError(f"no Whisper model in {model_dir}/ ({name} missing or empty): {fix}")


def read_vocabulary(model_dir: Path) -> dict[str, int]:
    """Token string -> id, from the model's `vocabulary.txt` (one token a line, in id order)."""
    return {token: i for i, token in enumerate((model_dir / "vocabulary.txt").read_text().split("\n"))}


def digit_spellings(vocabulary: dict[str, int]) -> list[list[int]]:
    """For each digit, the ids of the single tokens that spell it first: " zero", " Zero", "zero", "Zero", " 0",
    "0"."""
    spellings = []
    for digit, word in enumerate(DIGIT_WORDS):
        forms = [SPACE + word, SPACE + word.capitalize(), word, word.capitalize(), SPACE + str(digit), str(digit)]
        spellings.append([vocabulary[form] for form in forms if form in vocabulary])
    if not all(spellings):
        raise DigitsError("the Whisper vocabulary lacks the digit words: not an English Whisper model")
    return spellings


class Whisper:
    """Whisper tiny.en opened from a model folder, by CTranslate2 on the CPU with `threads` threads (0: all)."""

    def __init__(self, model_dir: Path, p: WhisperParams, threads: int = 0) -> None:
        check_model_dir(model_dir)
        try:
            import ctranslate2
        except ImportError:
            raise DigitsError("ctranslate2 is not installed: pip install -r requirements.txt") from None
        self.ctranslate2, self.p = ctranslate2, p
        try:
            self.model = ctranslate2.models.Whisper(
                str(model_dir), device="cpu", compute_type=p.compute_type, intra_threads=threads
            )
        except (RuntimeError, ValueError) as err:
            what = str(err).splitlines()[0] if str(err) else type(err).__name__
            fix = "run `dvc repro whisper_model`"
            raise DigitsError(f"cannot load the Whisper model in {model_dir}/ ({what}): {fix}") from None
        vocabulary = read_vocabulary(model_dir)
        self.spellings = digit_spellings(vocabulary)
        words = [SPACE + word for word in DIGIT_WORDS]
        self.prompt = [vocabulary[t] for t in ["<|startofprev|>", *words, "<|startoftranscript|>", "<|notimestamps|>"]]

    def digit_scores(self, encoded: object, n: int) -> np.ndarray:
        """`(n, 10)` log-probabilities of each digit as the transcript's first word, from encoder output."""
        results = self.model.generate(
            encoded,
            [self.prompt] * n,
            beam_size=1,
            max_length=len(self.prompt),  # one step after the prompt
            return_logits_vocab=True,
            suppress_blank=False,
            suppress_tokens=[],
        )
        logits = np.stack([np.asarray(result.logits[0]).reshape(-1) for result in results])
        log_p = log_softmax(logits)
        return np.stack([np.logaddexp.reduce(log_p[:, ids], axis=1) for ids in self.spellings], axis=1).astype(
            np.float32
        )

    def features(self, clips: list[np.ndarray], sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        """(pooled states `(n, 768)`, zero-shot digit scores `(n, 10)`) of mono clips at `sample_rate`."""
        audio, covered = windowed(clips, sample_rate, self.p.samples)
        mel = self.ctranslate2.StorageView.from_array(log_mel(audio))
        encoded = self.model.encode(mel)
        states = np.asarray(encoded, dtype=np.float32)
        return pooled(states, covered), self.digit_scores(encoded, len(clips))
