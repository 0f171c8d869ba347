"""Reading audio files: any format libsndfile reads (WAV of any bit depth, FLAC, OGG), bounded.

Only regular files are opened (never a FIFO, device or socket), and a file's header is checked before
anything is decoded: a sane sample rate and channel count, and no more frames than the caller allows.
So no input, whatever its header claims, costs more memory than the longest accepted recording.
"""

import hashlib
import os
import stat
import struct
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from digits import DigitsError
from digits.dsp import resample, to_mono

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg"})
SAMPLE_RATES = (1_000, 768_000)  # sample rates a header may claim, Hz
MAX_CHANNELS = 32
MAX_BYTES = 2**31  # larger files and standard input are refused unread
FILE_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket"}

# A RIFF/WAVE header, a 16-byte PCM "fmt " chunk and the "data" chunk's header: the canonical 44 bytes.
CANONICAL_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
CANONICAL_PCM16 = (b"RIFF", b"WAVE", b"fmt ", 16, 1, 16, b"data")  # ids, fmt size, format 1 (PCM), 16 bits


class AudioError(ValueError):
    """Why an input is no usable recording, in words meant for the user."""


class TooLong(AudioError):
    """An input longer than allowed; `seconds` is its length."""

    def __init__(self, seconds: float, max_seconds: float) -> None:
        super().__init__(f"too long: {seconds:.1f} s (over {max_seconds:g} s)")
        self.seconds = seconds


def pcm16_layout(head: bytes, size: int) -> tuple[int, int, int] | None:
    """(sample rate, channels, frames) of a file of `size` bytes starting with `head`, if it is a 16-bit PCM
    WAV with the canonical 44-byte header and nothing after its samples; None for anything else."""
    if len(head) < CANONICAL_HEADER.size:
        return None
    riff, _, wave, fmt, fmt_size, tag, channels, rate, _, align, bits, data_id, data_size = (
        CANONICAL_HEADER.unpack_from(head)
    )
    if (riff, wave, fmt, fmt_size, tag, bits, data_id) != CANONICAL_PCM16 or not channels or align != 2 * channels:
        return None
    if data_size != size - CANONICAL_HEADER.size or data_size % align:  # truncated, or more chunks after the data
        return None
    return rate, channels, data_size // align


def read_pcm16_wav(data: bytes) -> tuple[np.ndarray, int] | None:
    """What `read_audio` returns for `data` when `pcm16_layout` fits it; None for anything else.

    The common case of a speech corpus, parsed with one `struct` call: several times faster than
    libsndfile or `wave` for short clips (their per-file overhead dominates); the samples are the
    same (`int16 / 32768`). Every other layout is left to libsndfile.
    """
    layout = pcm16_layout(data[: CANONICAL_HEADER.size], len(data))
    if layout is None:
        return None
    rate, channels, _ = layout
    return samples_of(data[CANONICAL_HEADER.size :], channels), rate


def samples_of(pcm: bytes, channels: int) -> np.ndarray:
    """float32 samples `(samples,)` or `(samples, channels)` of little-endian 16-bit PCM bytes."""
    y = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    return y.reshape(-1, channels) if channels > 1 else y


def check_header(rate: int, channels: int, frames: int, max_seconds: float | None) -> int:
    """How many frames to decode of a file whose header claims `rate`, `channels` and `frames`; an `AudioError`
    when the claims are insane or, with `max_seconds`, too long."""
    low, high = SAMPLE_RATES
    if not low <= rate <= high:
        raise AudioError(f"not audio that can be a recording: sample rate {rate} Hz in the header")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"not audio that can be a recording: {channels} channels (at most {MAX_CHANNELS})")
    if max_seconds is not None and frames > max_seconds * rate:
        raise TooLong(frames / rate, max_seconds)
    return frames


def open_regular(path: str | Path) -> BinaryIO:
    """`path` opened for reading, if it is (or links to) a regular file of at most `MAX_BYTES`; an `AudioError`
    otherwise. FIFOs, devices and sockets are refused before they are opened, and opened without blocking."""
    try:
        kind = stat.S_IFMT(os.stat(path).st_mode)
        if kind == stat.S_IFREG:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            opened = os.fstat(fd)  # the file opened, which a rename may have swapped since the stat
            kind = stat.S_IFMT(opened.st_mode)
            if kind != stat.S_IFREG:
                os.close(fd)
    except OSError as err:
        raise AudioError(f"cannot open: {(err.strerror or str(err)).lower()}") from None
    if kind == stat.S_IFDIR:
        raise AudioError("a directory, not a file")
    if kind != stat.S_IFREG:
        raise AudioError(f"not a regular file: {FILE_KINDS.get(kind, 'a special file')}")
    if opened.st_size > MAX_BYTES:
        os.close(fd)
        raise AudioError(f"too large: {opened.st_size} bytes (over {MAX_BYTES})")
    return os.fdopen(fd, "rb")


def read_stdin(spool: int = 2**24) -> BinaryIO:
    """Standard input's bytes in a seekable file (in memory up to `spool` bytes, then on disk), at most
    `MAX_BYTES`; an `AudioError` beyond."""
    file = tempfile.SpooledTemporaryFile(max_size=spool)  # noqa: SIM115 - the caller closes it
    total = 0
    while chunk := sys.stdin.buffer.read(2**20):
        total += len(chunk)
        if total > MAX_BYTES:
            file.close()
            raise AudioError(f"too large: over {MAX_BYTES} bytes on standard input")
        file.write(chunk)
    file.seek(0)
    return file


def size_of(file: BinaryIO) -> int:
    """Bytes from `file`'s position to its end; the position is kept."""
    start = file.tell()
    size = file.seek(0, os.SEEK_END) - start
    file.seek(start)
    return size


def read_audio(source: str | Path | BinaryIO, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Samples as float32 `(samples,)` or `(samples, channels)` in [-1, 1], and the sample rate.

    `source` is a path or a seekable binary file object (read from its position). The header is checked
    first (`check_header`): an `AudioError` for a sample rate, channel count or, with `max_seconds`, a
    length out of bounds, and then at most `max_seconds` of audio is decoded. libsndfile's own errors
    (not audio, a broken header) propagate.
    """
    if isinstance(source, str | Path):
        with open_regular(source) as file:
            return read_audio(file, max_seconds)
    start = source.tell()
    layout = pcm16_layout(source.read(CANONICAL_HEADER.size), size_of(source) + source.tell() - start)
    if layout is not None:
        rate, channels, frames = layout
        frames = check_header(rate, channels, frames, max_seconds)
        return samples_of(source.read(frames * 2 * channels), channels), rate
    source.seek(start)
    with sf.SoundFile(source) as sound:
        frames = check_header(sound.samplerate, sound.channels, sound.frames, max_seconds)
        return sound.read(frames, dtype="float32", always_2d=False), sound.samplerate


def audio_problem(y: np.ndarray, sr: int, min_seconds: float, max_seconds: float | None) -> str | None:
    """Why mono samples `y` at `sr` Hz cannot be a recording of a digit, or None if they can."""
    if y.size == 0:
        return "no audio samples"
    if not np.isfinite(y).all():
        return "NaN or infinite samples"
    if not y.any():
        return "silent: every sample is zero"
    if y.size < min_seconds * sr:
        return f"too short: {y.size} samples, {y.size / sr:.3f} s (under {min_seconds:g} s)"
    if max_seconds is not None and y.size > max_seconds * sr:
        return f"too long: {y.size / sr:.1f} s (over {max_seconds:g} s)"
    return None


def decode(file: BinaryIO, min_seconds: float, max_seconds: float | None) -> tuple[np.ndarray, int]:
    """Samples and rate of the audio in `file` (as `read_audio`); an `AudioError` with the reason, meant for the
    user, when they are no usable recording of a digit (see `audio_problem`)."""
    if size_of(file) == 0:
        raise AudioError("empty file")
    try:
        y, sr = read_audio(file, max_seconds)
    except (RuntimeError, TypeError, sf.SoundFileError) as err:
        detail = getattr(err, "error_string", None) or str(err)  # libsndfile's own words, not the buffer's repr
        raise AudioError(f"not audio that libsndfile reads: {detail.strip().rstrip('.').lower()}") from None
    problem = audio_problem(to_mono(y), sr, min_seconds, max_seconds)
    if problem:
        raise AudioError(problem)
    return y, sr


def sha256_of(file: BinaryIO) -> str:
    """SHA-256 of `file`'s bytes from its start, read in chunks."""
    file.seek(0)
    return hashlib.file_digest(file, "sha256").hexdigest()


def read_clip(path: str | Path) -> tuple[np.ndarray, int]:
    """(audio, sample rate) of a manifest clip; a DigitsError if it cannot be read."""
    try:
        return read_audio(path)
    except (OSError, RuntimeError, AudioError) as err:
        raise DigitsError(f"cannot read {path}: {err}") from err


def read_clips(paths: Iterable[str], sample_rate: int) -> list[np.ndarray]:
    """The manifest clips at `paths` as mono audio at `sample_rate`."""
    clips = []
    for path in paths:
        y, sr = read_clip(path)
        clips.append(resample(to_mono(y), sr, sample_rate))
    return clips
