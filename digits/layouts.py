"""Dataset layouts: where a recording's digit, speaker and take are read from its path.

- `fsdd`: flat names `{digit}_{speaker}_{take}.wav` (Free Spoken Digit Dataset).
- `audiomnist`: `<speaker>/{digit}_{speaker}_{take}.wav` (AudioMNIST).
- `folders`: folder per class, `<digit>/<any name>.wav` (no speaker).
- `auto`: the first of the above that fits each file.
"""

import re
from pathlib import PurePosixPath
from typing import NamedTuple

NAME = re.compile(r"^(?P<digit>[0-9])_(?P<speaker>[^_/]+)_(?P<take>[0-9]+)$")


class Label(NamedTuple):
    digit: int
    speaker: str | None
    take: int | None


def parse_fsdd(relpath: str) -> Label | None:
    path = PurePosixPath(relpath)
    match = NAME.match(path.stem)
    if len(path.parts) != 1 or not match:
        return None
    return Label(int(match["digit"]), match["speaker"], int(match["take"]))


def parse_audiomnist(relpath: str) -> Label | None:
    path = PurePosixPath(relpath)
    match = NAME.match(path.stem)
    if len(path.parts) != 2 or not match or match["speaker"] != path.parts[0]:
        return None
    return Label(int(match["digit"]), match["speaker"], int(match["take"]))


def parse_folders(relpath: str) -> Label | None:
    path = PurePosixPath(relpath)
    if len(path.parts) < 2 or not re.fullmatch(r"[0-9]", path.parent.name):
        return None
    return Label(int(path.parent.name), None, None)


CARD = "corpus.json"  # a corpus's card at its root: what made it (not a recording)

PARSERS = {"fsdd": parse_fsdd, "audiomnist": parse_audiomnist, "folders": parse_folders}
LAYOUTS = ("auto", *PARSERS)


def parse(relpath: str, layout: str = "auto") -> Label | None:
    """Label of the file at `relpath` (relative to the dataset root, `/`-separated), or None."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    parsers = PARSERS.values() if layout == "auto" else [PARSERS[layout]]
    return next((label for parser in parsers if (label := parser(relpath))), None)
