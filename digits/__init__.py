"""Spoken-digit recognition: the library behind the DVC pipeline's stages and the `digits` command."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digits.logs import filter_native_logs, quiet_tensorflow

__all__ = ["DigitsError", "filter_native_logs", "replacing_dir", "replacing_file"]


class DigitsError(Exception):
    """A failure with a message meant for the user; the CLI prints it without a traceback."""


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


quiet_tensorflow()
