"""A corpus of the junk real recordings folders hold, each file with the verdict ingest should give."""

import io
import os
import shutil
import socket
import struct
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
    verdicts[locked.name] = None if os.geteuid() == 0 else "cannot open"  # root reads anything
    os.symlink("2_bad_2.wav", root / "2_bad_1.wav")  # a loop of links
    os.symlink("2_bad_1.wav", root / "2_bad_2.wav")
    verdicts |= {"2_bad_1.wav": "cannot open", "2_bad_2.wav": "cannot open"}
    os.symlink(".", root / "loop")  # a folder link to itself: not followed
    verdicts["loop"] = "not an audio file name"

    for i, source in enumerate(good[:2]):  # byte-identical copies of good clips, under other names
        shutil.copy(source, root / f"3_dup_{i}.wav")
        verdicts[f"3_dup_{i}.wav"] = "duplicate of"
    return verdicts


def canonical_wav(rate: int, channels: int, data_bytes: int) -> bytes:
    """The canonical 44-byte header of a 16-bit PCM WAV claiming `rate`, `channels` and `data_bytes` of samples."""
    align = 2 * channels
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels, rate, rate * align, align, 16),
        *(b"data", data_bytes),
    )


def flac_claiming(frames: int) -> bytes:
    """A short FLAC whose STREAMINFO claims `frames` samples per channel (a 36-bit field)."""
    buffer = io.BytesIO()
    sf.write(buffer, synth_clip(1, 0, 0), 8000, "PCM_16", format="FLAC")
    data = bytearray(buffer.getvalue())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first: bytes 8..41
    data[21] = (data[21] & 0xF0) | (frames >> 32 & 0x0F)
    data[22:26] = (frames & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(data)


def make_hostile_corpus(root: Path) -> dict[str, str | None]:
    """Inputs a careless or hostile user may hand over, written under `root` in the FSDD layout, with no
    `../shared` needed; returns {name: the start of the reason ingest and predict give, or None if usable}.

    Headers that lie (sample rate 0 or 10^9, 1,000 channels, 2^35 frames, a sparse 1 GB file), files that
    are no regular file (a FIFO, a link to /dev/zero, a socket) and names that would break a line.
    """
    root.mkdir(parents=True, exist_ok=True)
    clip = wav(synth_clip(4, 0, 0))
    samples = clip[44:]
    files: dict[str, tuple[bytes, str | None]] = {
        "0_rate0_0.wav": (canonical_wav(0, 1, len(samples)) + samples, "not audio"),
        "0_rategiga_0.wav": (canonical_wav(10**9, 1, len(samples)) + samples, "not audio"),
        "0_channels_0.wav": (canonical_wav(8000, 1000, 2000 * 4) + bytes(2000 * 4), "not audio"),
        "0_frames_0.flac": (flac_claiming(2**35), "too long"),
        "5_tab\tname_0.wav": (wav(synth_clip(5, 7, 0)), None),  # distinct clips: not duplicates
        "5_new\nline_0.wav": (wav(synth_clip(5, 7, 1)), None),
        "5_escape\x1b[31m_0.wav": (wav(synth_clip(5, 7, 2)), None),
    }
    for name, (data, _) in files.items():
        (root / name).write_bytes(data)
    verdicts = {name: reason for name, (_, reason) in files.items()}

    with open(root / "0_sparse_0.wav", "wb") as sparse:  # 1 GB that the header says is samples, no disk used
        sparse.write(canonical_wav(8000, 1, 10**9 - 44))
        sparse.truncate(10**9)
    verdicts["0_sparse_0.wav"] = "too long"
    os.mkfifo(root / "0_fifo_0.wav")
    os.symlink("/dev/zero", root / "0_device_0.wav")
    verdicts |= {"0_fifo_0.wav": "not a regular file", "0_device_0.wav": "not a regular file"}
    if len(str(root / "0_socket_0.wav")) < 100:  # AF_UNIX paths are short
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(root / "0_socket_0.wav"))
        verdicts["0_socket_0.wav"] = "not a regular file"
    return verdicts
