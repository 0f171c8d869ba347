"""Running a stage from the command line: `python -m stages.NAME [--params FILE] PATH...` (or `digits NAME ...`).

Each `stages/NAME.py` holds one `run(...)` whose parameters are params sections, loaded from the
params file and validated before any work, and paths: the stage's inputs and outputs, given on the
command line as its `cmd` in dvc.yaml writes them. A `DigitsError` ends the stage with one line on
stderr and exit status 1; so does any other exception, with its traceback written to a log file.
"""

import argparse
import inspect
import os
import sys
import tempfile
import traceback
import typing
from collections.abc import Callable, Sequence
from pathlib import Path

from digits import DigitsError, escape, filter_native_logs
from digits.params import Section, load


def main(run: Callable[..., None], argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    """Parse `argv` (default: the process's arguments) for `run`'s paths, load its params sections, run it."""
    module = sys.modules[run.__module__]
    name = module.__spec__.name.rsplit(".", 1)[-1] if module.__spec__ else run.__module__
    hints = typing.get_type_hints(run)
    sections = {k: kind for k, kind in hints.items() if isinstance(kind, type) and issubclass(kind, Section)}
    paths = [k for k in inspect.signature(run).parameters if k not in sections]
    parser = argparse.ArgumentParser(
        prog=prog or f"python -m stages.{name}",
        description=inspect.getdoc(module),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sections_read = ", ".join(kind.name for kind in sections.values()) or "none"
    parser.add_argument(
        "--params", type=Path, default=Path("params.yaml"), help=f"params file (sections read: {sections_read})"
    )
    for path in paths:
        parser.add_argument(path, type=Path)
    args = parser.parse_args(argv)
    if "tensorflow" in sys.modules:
        filter_native_logs()
    try:
        loaded = {k: load(kind, args.params) for k, kind in sections.items()}
        run(**loaded, **{path: getattr(args, path) for path in paths})
    except DigitsError as err:
        print(f"error: {escape(str(err))}", file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # a bug, but the user still gets one line, and the traceback in a file
        log = Path(tempfile.gettempdir()) / f"digits-{name}-{os.getpid()}.log"
        log.write_text(traceback.format_exc())
        what = f"{type(err).__name__}: {escape(str(err))}"
        print(f"error: unexpected {what} (a bug in stage {name}; traceback in {log})", file=sys.stderr)
        sys.exit(1)
