"""Sounds that are not a spoken digit, for teaching and testing the refusal "no digit heard".

Each kind of signal has a generator `(rng, n, sr) -> samples` (pure numpy, seeded by the caller):
noise of several colours (some with a syllable-rate envelope), steady tones and hums, DC, sweeps,
clicks and music-like note sequences. `render` gives every clip its own length, level, pause around
it and a faint background hiss. Spoken words that are not digits come from the synthetic voices
(`digits.synth`), with the vocabulary and the voices split into training, validation and test ones, so
that validation and test hear words, and voices, that training never did.
"""

import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import numpy as np
import soundfile as sf

from digits.params import NegativesParams, SynthParams
from digits.synth import Take, Voice, check_engines, draw_voices, engine_version, espeak_variants, finish, speak

SPLITS = ("train", "val", "test")
SPLIT_SEEDS = {"train": 0, "test": 1, "val": 2}  # fixed per split: a split added changes no other

# Ordinary words; digits and their homophones (oh, won, to, too, for, ate, nein) are left out.
VOCABULARY_TEXT = (
    "hello yes no stop go left right up down off cat dog house tree water light music happy table chair window "
    "door apple orange banana red green blue yellow black white bird fish horse cow sheep bed book car bus train "
    "plane boat road street city river lake sea sun moon star sky cloud rain snow wind fire stone hand foot head "
    "eye ear nose mouth face hair heart mother father sister brother baby friend teacher doctor morning evening "
    "night today tomorrow week month year hour minute time name word voice phone number letter paper pencil money "
    "coffee tea milk bread cheese butter sugar salt pepper kitchen garden flower grass forest mountain island "
    "bridge market school office computer zebra tiger lion monkey rabbit mouse turtle spider dragon robot guitar "
    "piano drum ten eleven twelve twenty hundred thousand first third again please thanks sorry maybe never always "
    "big small long short hot cold new old good bad open close begin finish heaven fine free gate wine hero fix"
)
VOCABULARY = tuple(VOCABULARY_TEXT.split())
# Words a sound away from a digit, said in training only (val and test words come from VOCABULARY alone): the
# non-digits most easily taken for one, so that the detector learns where a digit ends.
NEAR_DIGITS_TEXT = (
    "run fun done none gun do you shoe zoo true tune who flee agree key knee we she floor more core war store shore "
    "hive dive drive alive life knife sticks kicks mix sick tricks picks kevin devon oven leaven late wait plate "
    "great date straight line mine pine dine sign shine nice"
)
NEAR_DIGITS = tuple(NEAR_DIGITS_TEXT.split())


def colour(white: np.ndarray, exponent: float, sr: int) -> np.ndarray:
    """`white` noise shaped to a power spectrum falling as 1/f**exponent (0 white, 1 pink, 2 brown, -1 blue)."""
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(len(white), 1 / sr)
    spectrum *= np.maximum(f, 20.0) ** (-exponent / 2)
    return np.fft.irfft(spectrum, len(white))


def syllable_envelope(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A random amplitude envelope at 2-8 Hz (the rate of syllables), of random depth."""
    t = np.arange(n) / sr
    rate, depth = rng.uniform(2, 8), rng.uniform(0.3, 1.0)
    return 1 - depth * (0.5 + 0.5 * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))


def noise(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Coloured noise, steady or (half the time) pulsing at the rate of syllables."""
    y = colour(rng.standard_normal(n), rng.choice([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0]), sr)
    return y * syllable_envelope(rng, n, sr) if rng.random() < 0.5 else y


def harmonic(f0: np.ndarray, sr: int, partials: int, rng: np.random.Generator) -> np.ndarray:
    """A tone of instantaneous frequency `f0` (Hz per sample) with `partials` harmonics below Nyquist."""
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = np.zeros(len(f0))
    for k in range(1, partials + 1):
        if np.max(f0) * k < sr / 2:
            y += np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k ** rng.uniform(0.5, 2)
    return y


def tone(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A steady tone or hum (a sine, or harmonics of 50-3000 Hz), a touch-tone pair, or beeps."""
    choice = rng.integers(4)
    if choice == 1:  # touch-tone: one low and one high frequency
        t = np.arange(n) / sr
        return np.sin(2 * np.pi * rng.choice([697, 770, 852, 941]) * t) + np.sin(
            2 * np.pi * rng.choice([1209, 1336, 1477, 1633]) * t
        )
    f0 = np.full(n, np.exp(rng.uniform(np.log(50), np.log(3000))))
    if rng.random() < 0.3:  # vibrato
        f0 *= 1 + 0.02 * np.sin(2 * np.pi * rng.uniform(4, 7) * np.arange(n) / sr)
    y = harmonic(f0, sr, 1 if choice == 0 else int(rng.integers(2, 12)), rng)
    if choice == 3:  # beeps
        period = rng.uniform(0.1, 0.5)
        y *= (np.arange(n) / sr % period) < period * rng.uniform(0.3, 0.7)
    return y


def dc(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A constant offset (sometimes a step between two), with a trace of noise."""
    y = np.full(n, rng.choice([-1.0, 1.0]))
    if rng.random() < 0.3:
        y[int(rng.integers(n // 4, 3 * n // 4)) :] *= rng.uniform(-1, 1)
    return y + rng.standard_normal(n) * 10 ** rng.uniform(-5, -2)


def chirp(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A sweep up or down between two frequencies (linear or exponential), once or repeated, maybe with harmonics."""
    low, high = np.sort(np.exp(rng.uniform(np.log(50), np.log(3500), 2)))
    sweeps = int(rng.integers(1, 4))
    x = (np.arange(n) * sweeps / n) % 1
    x = x if rng.random() < 0.5 else 1 - x
    f0 = low + (high - low) * x if rng.random() < 0.5 else low * (high / low) ** x
    return harmonic(f0, sr, int(rng.integers(1, 5)), rng)


def clicks(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Clicks: a regular train (1-150 per second) or random crackle, each a short decaying burst."""
    rate = np.exp(rng.uniform(np.log(1), np.log(150)))
    if rng.random() < 0.5:
        at = np.arange(rng.integers(0, max(1, sr / rate)), n, max(1, int(sr / rate)))
    else:
        at = np.sort(rng.integers(0, n, max(1, int(rate * n / sr))))
    y = np.zeros(n)
    y[at] = rng.choice([-1.0, 1.0], len(at)) * rng.uniform(0.3, 1, len(at))
    width = int(rng.integers(4, 40))
    burst = rng.standard_normal(width) * np.exp(-np.arange(width) / rng.uniform(1, 10))
    return np.convolve(y, burst)[:n]


def music(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A few notes of a scale (or chords) with harmonics and a plucked or bowed envelope, maybe with drum hits."""
    y = np.zeros(n)
    notes = int(rng.integers(2, 9))
    edges = np.linspace(0, n, notes + 1).astype(int)
    root = rng.uniform(110, 440)
    for start, stop in pairwise(edges):
        length = stop - start
        envelope = np.exp(-np.arange(length) / (sr * rng.uniform(0.05, 0.5)))
        if rng.random() < 0.5:  # bowed: 50 ms fade in and out
            ramp = np.arange(length) / (0.05 * sr)
            envelope = np.minimum(1, ramp) * np.minimum(1, ramp[::-1])
        for step in rng.choice([0, 2, 4, 5, 7, 9, 11, 12], int(rng.integers(1, 4)), replace=False):
            f0 = np.full(length, root * 2 ** (step / 12))
            y[start:stop] += harmonic(f0, sr, int(rng.integers(1, 8)), rng) * envelope
        if rng.random() < 0.3:  # a drum hit
            hit = min(length, int(0.1 * sr))
            y[start : start + hit] += rng.standard_normal(hit) * np.exp(-np.arange(hit) / (0.02 * sr))
    return y


SIGNALS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "noise": noise,
    "tone": tone,
    "dc": dc,
    "chirp": chirp,
    "clicks": clicks,
    "music": music,
}
KINDS = (*SIGNALS, "word")  # every kind of non-digit, the labels of the detector after "digit"


def render(kind: str, rng: np.random.Generator, sr: int, seconds: tuple[float, float]) -> np.ndarray:
    """One clip of signal `kind` (a key of `SIGNALS`), float32 at `sr` Hz: `seconds` long (uniform in the range),
    a random peak level from -40 to -0.5 dBFS, a pause of up to 0.3 s either side and a faint hiss throughout."""
    n = int(sr * rng.uniform(*seconds))
    y = SIGNALS[kind](rng, n, sr)
    y *= 10 ** (rng.uniform(-40, -0.5) / 20) / max(float(np.max(np.abs(y))), 1e-12)
    pauses = rng.integers(0, int(0.3 * sr), 2)
    y = np.concatenate([np.zeros(pauses[0]), y, np.zeros(pauses[1])])
    y += rng.standard_normal(len(y)) * np.max(np.abs(y)) * 10 ** (-rng.uniform(30, 70) / 20)
    return np.clip(y, -1, 1).astype(np.float32)


def split_shares(order: np.ndarray, val_share: float, test_share: float) -> dict[str, list[int]]:
    """The permutation `order` cut into `test` (its first `test_share`, whatever `val_share`), `val` (the next
    `val_share`) and `train` (the rest), each sorted."""
    order = [int(i) for i in order]
    test, val = round(len(order) * test_share), round(len(order) * val_share)
    return {"train": sorted(order[test + val :]), "val": sorted(order[test : test + val]), "test": sorted(order[:test])}


def split_vocabulary(val_share: float, test_share: float, seed: int) -> dict[str, list[str]]:
    """`VOCABULARY` split at random (seeded) into `train`, `val` and `test` words, as `split_shares` cuts it."""
    order = np.random.default_rng(seed).permutation(len(VOCABULARY))
    return {
        split: sorted(VOCABULARY[i] for i in cut) for split, cut in split_shares(order, val_share, test_share).items()
    }


def say_words(
    voice: Voice, words: list[str], level: tuple[float, float], rng: np.random.Generator, sr: int, workdir: Path
) -> list[np.ndarray]:
    """`voice` saying each of `words` (rate and pitch its own, each take at a random peak `level`), at `sr` Hz."""
    takes = [
        Take(0, i, f"{word}.", voice.rate, voice.pitch, round(float(rng.uniform(*level)), 3))
        for i, word in enumerate(words)
    ]
    return [
        finish(y, sr_in, voice.tract, take.level, sr)
        for take, (y, sr_in) in zip(takes, speak(voice, takes, workdir), strict=True)
    ]


def word_voices(p: NegativesParams, synth: SynthParams) -> dict[str, list[Voice]]:
    """The synthetic voices that say words, drawn as `synth` draws its speakers but from `p`'s counts and seed,
    split at random into `train`, `val` and `test` voices (`p.val_share`, `p.test_share`), as `split_shares` cuts."""
    engines = [engine for engine, count in p.voices.items() if count]
    check_engines(engines)
    variants = espeak_variants(synth.espeak_skip) if "espeak-ng" in engines else []
    voices = draw_voices(synth.model_copy(update={"voices": p.voices, "seed": p.seed}), variants)
    order = np.random.default_rng([p.seed, 1]).permutation(len(voices))
    return {split: [voices[i] for i in cut] for split, cut in split_shares(order, p.val_share, p.test_share).items()}


def write_clip(path: Path, y: np.ndarray, sr: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, "PCM_16")


def write_signals(p: NegativesParams, sr: int, out_dir: Path) -> int:
    """Write `p.clips` (train), `p.val_clips` (val) and `p.test_clips` (test) clips of each kind of `SIGNALS`,
    seeded per split, as `out_dir/SPLIT/KIND/KIND_NNNN.wav`; returns how many."""
    count, clips = 0, {"train": p.clips, "val": p.val_clips, "test": p.test_clips}
    for split in SPLITS:
        for index, kind in enumerate(SIGNALS):
            for i in range(clips[split]):
                rng = np.random.default_rng([p.seed, SPLIT_SEEDS[split], index, i])
                write_clip(out_dir / split / kind / f"{kind}_{i:04d}.wav", render(kind, rng, sr, p.seconds), sr)
                count += 1
    return count


def write_words(p: NegativesParams, synth: SynthParams, out_dir: Path, workers: int = 0) -> Iterator[int]:
    """Have each word voice say `p.words_per_voice` words of its split's vocabulary, written as
    `out_dir/SPLIT/word/VOICE_WORD.wav`; yields each voice's clip count as it completes."""
    vocabulary = split_vocabulary(p.val_share, p.test_share, p.seed)
    vocabulary["train"] += list(NEAR_DIGITS) if p.near_digits else []
    jobs = [(split, i, voice) for split, voices in word_voices(p, synth).items() for i, voice in enumerate(voices)]

    def say(split: str, i: int, voice: Voice) -> int:
        rng = np.random.default_rng([p.seed, 2, SPLIT_SEEDS[split], i])
        words = list(rng.choice(vocabulary[split], min(p.words_per_voice, len(vocabulary[split])), replace=False))
        with tempfile.TemporaryDirectory(prefix="words-") as tmp:
            clips = say_words(voice, words, synth.level, rng, synth.sample_rate, Path(tmp))
        for word, y in zip(words, clips, strict=True):
            write_clip(out_dir / split / "word" / f"{voice.name}_{word}.wav", y, synth.sample_rate)
        return len(words)

    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        yield from pool.map(lambda job: say(*job), jobs)


def describe(p: NegativesParams, out_dir: Path) -> dict:
    """The corpus card (`negatives.json`): clips per split and kind, the words of each split, engine versions."""
    counts = {split: {kind: len(list((out_dir / split / kind).glob("*.wav"))) for kind in KINDS} for split in SPLITS}
    return {
        "corpus": "non-digits: generated signals and words that are not digits said by synthetic voices",
        "clips": counts,
        "words": split_vocabulary(p.val_share, p.test_share, p.seed),
        "near_digit_words_in_training": list(NEAR_DIGITS) if p.near_digits else [],
        "engines": {engine: engine_version(engine) for engine, count in p.voices.items() if count},
    }


def read_negatives(root: Path, split: str) -> list[tuple[Path, str]]:
    """Every clip of `split` under `root` (written by `write_signals` and `write_words`) with its kind, sorted."""
    return [(path, path.parent.name) for path in sorted((root / split).glob("*/*.wav")) if path.parent.name in KINDS]
