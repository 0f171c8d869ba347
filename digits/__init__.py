"""Spoken-digit recognition: the library behind the DVC pipeline's stages and the `digits` command."""

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digits.logs import filter_native_logs, quiet_tensorflow

__all__ = ["DigitsError", "escape", "filter_native_logs", "replacing_dir", "replacing_file", "write_json"]

CONTROL = {i: f"\\x{i:02x}" for i in [*range(32), *range(127, 160)]} | {9: "\\t", 10: "\\n", 13: "\\r", 92: "\\\\"}


class DigitsError(Exception):
    """A failure with a message meant for the user; the CLI prints it without a traceback."""


def escape(text: str) -> str:
    """`text` with control characters and backslashes escaped as Python writes them (`\\t`, `\\n`, `\\x1b`,
    `\\\\`), and lone surrogates (undecodable bytes of a file name) as `\\udcff`, so that a file name can
    never break a tab-separated or `path: reason` line, nor the terminal."""
    return text.translate(CONTROL).encode("utf-8", "backslashreplace").decode("utf-8")


@contextmanager
def replacing_dir(dest: Path) -> Iterator[Path]:
    """Yield an empty sibling folder to fill; it replaces `dest` only if the block succeeds.

    An interrupted or failed stage thus never leaves a half-written output under the real name.
    """
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
        shutil.rmtree(dest, ignore_errors=True)
        partial.rename(dest)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


@contextmanager
def replacing_file(dest: Path) -> Iterator[Path]:
    """Yield a sibling path (same suffix) to write; it replaces `dest` only if the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.stem}.partial{dest.suffix}")
    try:
        yield partial
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)


def write_json(dest: Path, found: object) -> None:
    """Write `found` as indented JSON to `dest` (its folder made), replacing it only once all of it is written."""
    text = json.dumps(found, indent=2) + "\n"  # before the file is touched: a value JSON cannot hold changes nothing
    with replacing_file(dest) as partial:
        partial.write_text(text)


quiet_tensorflow()
