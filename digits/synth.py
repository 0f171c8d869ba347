"""Synthetic voices: the text-to-speech engines Debian ships saying "zero" ... "nine", offline and seeded.

A synthetic speaker is an engine and one of its voices (for espeak-ng an accent and a voice variant)
with its own speaking rate, pitch and vocal-tract length; the last is applied to any engine's output
by resampling (a longer tract: lower formants and pitch together). Each speaker says each digit
`takes` times, each take with its rate and pitch jittered and its own level. Everything is drawn from
the `synth` params' seed, and the engines are deterministic: the same params and engine versions
give the same bytes.
"""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from digits import DigitsError
from digits.dsp import resample, to_mono
from digits.params import SynthParams

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PACKAGES = {  # engine -> (program, Debian packages)
    "espeak-ng": ("espeak-ng", ["espeak-ng"]),
    "flite": ("flite", ["flite"]),
    "festival": ("festival", ["festival", "festvox-kallpc16k", "festvox-us-slt-hts"]),
}
FESTIVAL_VOICES = "/usr/share/festival/voices"
ESPEAK_RATE = 175  # words per minute at rate 1
ESPEAK_PITCH = 50  # its 0-99 pitch scale at pitch 1
FLITE_F0 = {"kal": 100.0, "kal16": 100.0, "awb": 110.0, "rms": 100.0, "slt": 170.0}  # Hz at pitch 1
FESTIVAL_F0 = 105.0  # kal_diphone's target mean F0 at pitch 1 (its HTS voice keeps its own)


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: `name` (its speaker id), the engine and the engine's voice, and its manner."""

    name: str
    engine: str
    voice: str
    rate: float
    pitch: float
    tract: float


@dataclass(frozen=True)
class Take:
    """One utterance of a voice: the digit, the take number, its text and its jittered rate, pitch and level."""

    digit: int
    take: int
    text: str
    rate: float
    pitch: float
    level: float


def install_hint(engines: list[str]) -> str:
    packages = [pkg for engine in engines for pkg in PACKAGES[engine][1]]
    return f"sudo apt-get install {' '.join(packages)}"


def check_engines(engines: list[str]) -> None:
    """Raise a one-line DigitsError naming the `apt-get install` command when an engine is missing."""
    missing = [e for e in engines if shutil.which(PACKAGES[e][0]) is None]
    if "festival" in engines and "festival" not in missing and not Path(FESTIVAL_VOICES).is_dir():
        missing.append("festival")
    if missing:
        raise DigitsError(
            f"text-to-speech engine{'s' if len(missing) > 1 else ''} not installed: {', '.join(missing)}; "
            f"run `{install_hint(missing)}` (or set synth.voices.ENGINE: 0)"
        )


def engine_version(engine: str) -> str:
    """The engine's version: its Debian package's where dpkg knows it, else the program's own line."""
    program, packages = PACKAGES[engine]
    if shutil.which("dpkg-query"):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", packages[0]], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    out = subprocess.run([program, "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().splitlines()[0]


def espeak_variants(skip: list[str]) -> list[str]:
    """The installed espeak-ng voice variants (`en-us+NAME`), sorted, less those in `skip`."""
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True)
    names = [line.split()[-1].removeprefix("!v/") for line in out.stdout.splitlines()[1:] if line.strip()]
    return sorted(set(names) - set(skip))


def engine_voices(engine: str, p: SynthParams) -> list[str]:
    """The engine's voices that speakers cycle through (espeak-ng: accent+variant, variants drawn later)."""
    if engine == "espeak-ng":
        return p.espeak_accents
    return p.flite_voices if engine == "flite" else p.festival_voices


def draw_voices(p: SynthParams, variants: list[str]) -> list[Voice]:
    """The synthetic speakers of `p`: per engine, `p.voices[engine]` of them cycling through its voices."""
    voices = []
    for number, (engine, count) in enumerate(p.voices.items()):
        choices = engine_voices(engine, p)
        for i in range(count):
            rng = np.random.default_rng([p.seed, number, i])
            voice = choices[i % len(choices)]
            if engine == "espeak-ng":
                voice = f"{voice}+{variants[int(rng.integers(len(variants)))]}"
            rate, pitch, tract = (float(rng.uniform(*r)) for r in (p.rate, p.pitch, p.tract))
            name = f"{engine.split('-')[0]}{i:03d}"
            voices.append(Voice(name, engine, voice, round(rate, 3), round(pitch, 3), round(tract, 3)))
    return voices


def takes_of(voice: Voice, index: int, p: SynthParams) -> list[Take]:
    """Every take of every digit by `voice` (the `index`-th voice), jittered by `p.jitter`, seeded."""
    rng = np.random.default_rng([p.seed, 1000 + index])
    takes = []
    for digit in range(10):
        for take in range(p.takes):
            rate, pitch = (v * (1 + float(rng.uniform(-p.jitter, p.jitter))) for v in (voice.rate, voice.pitch))
            text = WORDS[digit] + (".", "!")[int(rng.integers(2))]
            level = float(rng.uniform(*p.level))
            takes.append(Take(digit, take, text, round(rate, 3), round(pitch, 3), round(level, 3)))
    return takes


def espeak_command(voice: Voice, take: Take, out: Path) -> list[str]:
    speed = int(np.clip(round(ESPEAK_RATE * take.rate), 80, 450))
    pitch = int(np.clip(round(ESPEAK_PITCH * take.pitch), 0, 99))
    return ["espeak-ng", "-v", voice.voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), take.text]


def flite_command(voice: Voice, take: Take, out: Path) -> list[str]:
    return [
        "flite", "-voice", voice.voice, "-t", take.text, "-o", str(out),
        "--setf", f"duration_stretch={1 / take.rate:.3f}",
        "--setf", f"int_f0_target_mean={FLITE_F0.get(voice.voice, 120.0) * take.pitch:.1f}",
    ]  # fmt: skip


def festival_script(voice: Voice, takes: list[Take], outs: list[Path]) -> str:
    """A Festival batch script saying every take of `voice` into the files `outs`."""
    lines = [f"(voice_{voice.voice})"]
    for take, out in zip(takes, outs, strict=True):
        f0 = FESTIVAL_F0 * take.pitch
        lines += [
            f"(Parameter.set 'Duration_Stretch {1 / take.rate:.3f})",
            f"(set! int_lr_params '((target_f0_mean {f0:.1f}) (target_f0_std {f0 / 6:.1f}) "
            "(model_f0_mean 170) (model_f0_std 34)))",
            f'(utt.save.wave (utt.synth (Utterance Text "{take.text}")) "{out}" \'riff)',
        ]
    return "\n".join(lines) + "\n"


def run_engine(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise DigitsError(f"{command[0]} failed ({' '.join(command[:4])} ...): {result.stderr.strip()[:200]}")


def speak(voice: Voice, takes: list[Take], workdir: Path) -> list[tuple[np.ndarray, int]]:
    """Run `voice`'s engine on every take; the raw audio and its sample rate, in order."""
    outs = [workdir / f"{take.digit}-{take.take}.wav" for take in takes]
    if voice.engine == "festival":
        script = workdir / "say.scm"
        script.write_text(festival_script(voice, takes, outs))
        run_engine(["festival", "-b", str(script)])
    else:
        command = espeak_command if voice.engine == "espeak-ng" else flite_command
        for take, out in zip(takes, outs, strict=True):
            run_engine(command(voice, take, out))
    audio = []
    for out in outs:
        if not out.is_file():
            raise DigitsError(f"{voice.engine} wrote no audio for voice {voice.voice}")
        y, sr = sf.read(out, dtype="float32")
        audio.append((to_mono(y), sr))
    return audio


def finish(y: np.ndarray, sr: int, tract: float, level: float, sample_rate: int) -> np.ndarray:
    """Engine output as a clip: played `tract` times faster (formants and pitch up by `tract`), resampled to
    `sample_rate`, peak at `level`."""
    if not np.any(y):
        raise DigitsError("an engine wrote a silent clip")
    y = resample(y.astype(np.float64), sr * tract, sample_rate)
    return (y * (level / np.max(np.abs(y)))).astype(np.float32)


def render_voice(voice: Voice, index: int, p: SynthParams, out_dir: Path) -> int:
    """Write every take of `voice` as `out_dir/NAME/{digit}_{NAME}_{take}.wav` (16-bit); returns the count."""
    takes = takes_of(voice, index, p)
    with tempfile.TemporaryDirectory(prefix="synth-") as tmp:
        audio = speak(voice, takes, Path(tmp))
    folder = out_dir / voice.name
    folder.mkdir(parents=True)
    for take, (y, sr) in zip(takes, audio, strict=True):
        clip = finish(y, sr, voice.tract, take.level, p.sample_rate)
        sf.write(folder / f"{take.digit}_{voice.name}_{take.take}.wav", clip, p.sample_rate, "PCM_16")
    return len(takes)


def synthesise(p: SynthParams, out_dir: Path, workers: int = 0) -> Iterator[tuple[Voice, int]]:
    """Render every voice of `p` into `out_dir` (which must exist), `workers` engines at a time (0: all
    cores); yields each voice and its clip count as it completes, in order."""
    engines = [engine for engine, count in p.voices.items() if count]
    check_engines(engines)
    variants = espeak_variants(p.espeak_skip) if "espeak-ng" in engines else []
    voices = draw_voices(p, variants)
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        done = pool.map(render_voice, voices, range(len(voices)), [p] * len(voices), [out_dir] * len(voices))
        yield from zip(voices, done, strict=True)


def describe(p: SynthParams, voices: list[Voice]) -> dict:
    """The corpus card (`corpus.json`): what made it, with the engines' versions and every voice."""
    engines = [engine for engine, count in p.voices.items() if count]
    return {
        "corpus": "synthetic voices (text-to-speech), training only",
        "engines": {engine: engine_version(engine) for engine in engines},
        "clips": 10 * p.takes * len(voices),
        "voices": [asdict(voice) for voice in voices],
    }
