"""Synthetic spoken-digit corpora in the FSDD layout, for tests and for benchmarks at any scale.

    python -m tests.corpus DIR --clips 100000

writes `DIR/{digit}_s{speaker}_{take}.wav` (8 kHz, 16-bit), 0.3-0.5 s "utterances" of two gliding
tones whose frequencies depend on the digit and the speaker. Not speech: a stand-in with FSDD's
sizes and layout, and learnable, so the pipeline can run on it end to end.
"""

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated

import numpy as np
import soundfile as sf
import typer

TAKES_PER_SPEAKER = 500  # takes of each digit per speaker in a large corpus


def synth_clip(digit: int, speaker: int, take: int, sr: int = 8000) -> np.ndarray:
    """A made-up 'utterance': two gliding tones whose frequencies depend on the digit.

    The speaker scales all frequencies (a different 'voice'); the take varies length, loudness,
    noise and the surrounding silence.
    """
    rng = np.random.default_rng(1000 * digit + 100 * speaker + take)
    scale = 1 + 0.04 * speaker
    n = int(sr * rng.uniform(0.3, 0.5))
    t = np.arange(n) / sr
    f1 = (250 + 110 * digit) * scale * (1 + 0.3 * t * (digit % 3 - 1))
    f2 = (2600 - 170 * digit) * scale
    voice = np.sin(2 * np.pi * np.cumsum(f1) / sr) + 0.5 * np.sin(2 * np.pi * f2 * t + rng.uniform(0, 6))
    voice *= np.hanning(n) * rng.uniform(0.2, 0.6)
    silence = [np.zeros(int(sr * rng.uniform(0.02, 0.15))) for _ in range(2)]
    y = np.concatenate([silence[0], voice, silence[1]])
    return (y + rng.normal(0, 0.002, len(y))).astype(np.float32)


def write_speaker(root: Path, speaker: int, takes: int) -> None:
    """Write every digit's `takes` takes by `speaker` under `root`."""
    for digit in range(10):
        for take in range(takes):
            sf.write(root / f"{digit}_s{speaker}_{take}.wav", synth_clip(digit, speaker, take), 8000, "PCM_16")


def make_corpus(root: Path, speakers: int = 3, takes: int = 6, workers: int = 1) -> Path:
    """FSDD-layout corpus of `10 * speakers * takes` synthetic clips under `root`; returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    if workers == 1:
        for speaker in range(speakers):
            write_speaker(root, speaker, takes)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(write_speaker, [root] * speakers, range(speakers), [takes] * speakers))
    return root


def main(
    root: Annotated[Path, typer.Argument(help="Folder to write the clips to.")],
    clips: Annotated[int, typer.Option(help="Number of clips (rounded up to whole speakers).")] = 100_000,
    workers: Annotated[int, typer.Option(help="Processes writing clips.")] = 2,
) -> None:
    """Write a synthetic FSDD-layout corpus of about `clips` clips."""
    speakers = -(-clips // (10 * TAKES_PER_SPEAKER))
    takes = min(TAKES_PER_SPEAKER, -(-clips // (10 * speakers)))
    make_corpus(root, speakers, takes, workers)
    print(f"{10 * speakers * takes} clips ({speakers} speakers x 10 digits x {takes} takes) -> {root}/")


if __name__ == "__main__":
    typer.run(main)
