"""Reading audio: the fast path for 16-bit PCM WAV gives exactly what libsndfile gives."""

import io
import os
import re
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import digits.audio
from digits.audio import AudioError, TooLong, check_header, open_regular, read_audio, read_pcm16_wav, read_stdin
from tests.conftest import FSDD
from tests.corpus import synth_clip

STEREO = np.stack([synth_clip(3, 0, 0), -synth_clip(3, 0, 0)], axis=1)


def wav_bytes(y: np.ndarray, subtype: str, fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, y, 8000, subtype, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("y", [synth_clip(7, 1, 2), STEREO], ids=["mono", "stereo"])
def test_pcm16_wav_is_read_as_libsndfile_reads_it(tmp_path: Path, y: np.ndarray) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(wav_bytes(y, "PCM_16"))
    got, rate = read_pcm16_wav(path.read_bytes())
    expected, _ = sf.read(path, dtype="float32")
    assert rate == 8000 and got.dtype == np.float32 and got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_fsdd_clips_take_the_fast_path_unchanged() -> None:
    paths = sorted(FSDD.glob("*.wav"))[::100] if FSDD.is_dir() else []
    if not paths:
        pytest.skip("no shared FSDD copy")
    for path in paths:
        got, rate = read_pcm16_wav(path.read_bytes())
        expected, expected_rate = sf.read(path, dtype="float32")
        assert rate == expected_rate and np.array_equal(got, expected)


@pytest.mark.parametrize(
    ("subtype", "fmt"), [("PCM_24", "WAV"), ("FLOAT", "WAV"), ("PCM_U8", "WAV"), ("PCM_16", "FLAC")]
)
def test_other_formats_go_to_libsndfile(subtype: str, fmt: str) -> None:
    data = wav_bytes(STEREO, subtype, fmt)
    assert read_pcm16_wav(data) is None
    got, rate = read_audio(io.BytesIO(data))
    expected, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 8000 and np.array_equal(got, expected)


def with_info_chunk(data: bytes, after_samples: bool) -> bytes:
    """`data` (a canonical WAV) with an empty LIST/INFO chunk before or after the samples, RIFF size fixed."""
    info = b"LIST" + struct.pack("<I", 4) + b"INFO"
    body = data[12:] + info if after_samples else data[12:36] + info + data[36:]
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


@pytest.mark.parametrize("after_samples", [False, True], ids=["chunk-before-samples", "chunk-after-samples"])
def test_a_wav_with_more_chunks_is_left_to_libsndfile(after_samples: bool) -> None:
    data = with_info_chunk(wav_bytes(STEREO, "PCM_16"), after_samples)
    assert read_pcm16_wav(data) is None
    got, rate = read_audio(io.BytesIO(data))
    expected, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert (
        rate == 8000
        and np.array_equal(got, expected)
        and np.array_equal(got, read_pcm16_wav(wav_bytes(STEREO, "PCM_16"))[0])
    )


def test_a_truncated_wav_is_left_to_libsndfile(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_bytes(synth_clip(1, 0, 0), "PCM_16")[:-1001])  # the header promises more data
    assert read_pcm16_wav(path.read_bytes()) is None
    got, _ = read_audio(path)
    expected, _ = sf.read(path, dtype="float32")
    assert np.array_equal(got, expected)


def test_junk_is_an_error_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "text.wav"
    path.write_text("not audio")
    assert read_pcm16_wav(path.read_bytes()) is None
    with pytest.raises(sf.LibsndfileError):
        read_audio(path)


@pytest.mark.parametrize(
    ("rate", "channels", "frames", "reason"),
    [
        (0, 1, 8000, "sample rate 0 Hz"),
        (10**9, 1, 8000, "sample rate 1000000000 Hz"),
        (8000, 0, 8000, "0 channels"),
        (8000, 33, 8000, "33 channels"),
        (8000, 1, 2**35, "too long: 4294967.3 s (over 10 s)"),
    ],
)
def test_an_insane_header_is_refused_before_decoding(rate: int, channels: int, frames: int, reason: str) -> None:
    with pytest.raises(AudioError, match=re.escape(reason)):
        check_header(rate, channels, frames, 10.0)
    assert check_header(8000, 2, 8000, 10.0) == 8000


def test_no_more_than_max_seconds_is_decoded(tmp_path: Path) -> None:
    y = np.tile(synth_clip(3, 0, 0), 40)  # about 15 s
    for subtype, fmt, name in [
        ("PCM_16", "WAV", "long.wav"),
        ("PCM_24", "WAV", "long24.wav"),
        ("PCM_16", "FLAC", "long.flac"),
    ]:
        sf.write(tmp_path / name, y, 8000, subtype, format=fmt)
        with pytest.raises(TooLong, match=r"too long: 1\d\.\d s \(over 10 s\)"):
            read_audio(tmp_path / name, max_seconds=10.0)
        got, _ = read_audio(tmp_path / name, max_seconds=20.0)
        assert len(got) == len(y)


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_only_regular_files_are_opened(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.wav"
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    elif kind == "device":
        os.symlink("/dev/zero", path)  # reading it would never end
    else:
        path.mkdir()
    with pytest.raises(AudioError, match=r"not a regular file|a directory"):
        open_regular(path)


def test_too_large_a_file_or_standard_input_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digits.audio, "MAX_BYTES", 1000)
    (tmp_path / "big.wav").write_bytes(bytes(1001))
    with pytest.raises(AudioError, match="too large: 1001 bytes"):
        open_regular(tmp_path / "big.wav")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bytes(3 * 2**20))))
    with pytest.raises(AudioError, match="too large: over 1000 bytes on standard input"):
        read_stdin()
