"""A corpus of the junk real recordings folders hold, each file with the verdict ingest should give."""

import io
import os
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.corpus import synth_clip

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


def wav(y: np.ndarray, sr: int = 8000, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, subtype, format="WAV")
    return buffer.getvalue()


def make_bad_corpus(root: Path, good: list[Path]) -> dict[str, str | None]:
    """Write the bad files (and copies of two of the `good` clips) under `root`.

    Returns {path relative to root: the start of the reject reason, or None for files that must be
    accepted}. Paths follow the FSDD layout unless the point is that they do not.
    """
    root.mkdir(parents=True, exist_ok=True)
    clip = synth_clip(4, 0, 0)
    full = wav(clip)
    nan, inf = clip.copy(), clip.copy()
    nan[100], inf[200] = np.nan, np.inf
    files: dict[str, tuple[bytes, str | None]] = {
        "0_bad_0.wav": (b"", "empty file"),
        "0_bad_1.wav": (full[:30], "not audio"),  # RIFF header cut before the data chunk
        "0_bad_2.wav": (full[: len(full) // 2], None),  # header promises more data: the samples present are used
        "0_bad_3.wav": (b"hello, I am a text file\n" * 20, "not audio"),
        "0_bad_4.wav": (PNG, "not audio"),
        "0_bad_5.wav": (wav(nan, subtype="FLOAT"), "NaN or infinite samples"),
        "0_bad_6.wav": (wav(inf, subtype="FLOAT"), "NaN or infinite samples"),
        "0_bad_7.wav": (wav(np.zeros(4000, np.float32)), "silent"),
        "0_bad_8.wav": (wav(clip[:1]), "too short"),
        "0_bad_9.wav": (wav(np.tile(clip, 600 * 8000 // len(clip) + 1)[: 600 * 8000]), "too long"),
        "1_odd_0.wav": (wav(np.stack([clip, clip], axis=1)), None),  # stereo
        "1_odd_1.wav": (wav(clip, subtype="PCM_U8"), None),  # 8-bit unsigned
        "1_odd_2.wav": (wav(clip, subtype="PCM_24"), None),
        "1_odd_3.wav": (wav(synth_clip(4, 0, 0, sr=48000), sr=48000), None),
        "x_george_1.wav": (full, "unlabelled"),
        "12_george_1.wav": (wav(synth_clip(5, 0, 0)), "unlabelled"),
        "eleven/a.wav": (wav(synth_clip(6, 0, 0)), "unlabelled"),  # a class folder that is no digit
        "notes.txt": (b"recorded on Tuesday", "not an audio file name"),
    }
    for name, (data, _) in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    verdicts = {name: reason for name, (_, reason) in files.items()}

    locked = root / "2_bad_0.wav"
    locked.write_bytes(wav(synth_clip(7, 5, 5)))
    locked.chmod(0)
    verdicts[locked.name] = None if os.geteuid() == 0 else "unreadable"  # root reads anything
    os.symlink("2_bad_2.wav", root / "2_bad_1.wav")  # a loop of links
    os.symlink("2_bad_1.wav", root / "2_bad_2.wav")
    verdicts |= {"2_bad_1.wav": "unreadable", "2_bad_2.wav": "unreadable"}
    os.symlink(".", root / "loop")  # a folder link to itself: not followed
    verdicts["loop"] = "not an audio file name"

    for i, source in enumerate(good[:2]):  # byte-identical copies of good clips, under other names
        shutil.copy(source, root / f"3_dup_{i}.wav")
        verdicts[f"3_dup_{i}.wav"] = "duplicate of"
    return verdicts
