"""Keeping TensorFlow's log lines out of the output, and nothing else.

TensorFlow's C++ code writes info and warning lines to stderr before absl's logging is initialised,
whatever `TF_CPP_MIN_LOG_LEVEL` says. `quiet_tensorflow` silences its import; `filter_native_logs` drops
such lines from a process's stderr for good (stages and predict that run a Keras model call it).
"""

import atexit
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def stderr_silenced() -> Iterator[None]:
    """Send what this process (C++ included) writes to file descriptor 2 to /dev/null for the block."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Imports TensorFlow, when something first does, with stderr silenced: its C++ start-up lines (absl's
    "before InitializeLog", "oneDNN custom operations are on") ignore every logging setting. Its Python
    warnings are then kept to errors."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def quietly(module: ModuleType) -> None:
                with stderr_silenced():
                    exec_module(module)
                logging.getLogger("tensorflow").setLevel(logging.ERROR)  # e.g. tf.function retracing warnings

            spec.loader.exec_module = quietly
        return spec


# TensorFlow's C++ log lines: absl's prefix (severity I, W or E, date, seconds, thread, file:line]), and absl's
# notice that it is not initialised. Fatal lines (F) and everything else pass.
NATIVE_LOG = re.compile(rb"^([IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] |WARNING: All log messages before absl::)")


def filter_native_logs() -> None:
    """From now on, drop TensorFlow's C++ log lines (`NATIVE_LOG`) from what this process writes to stderr (file
    descriptor 2): before absl is initialised it writes them whatever the log level. Every other line goes
    through; at exit the filter is flushed and stderr restored."""
    if getattr(filter_native_logs, "pump", None):
        return
    sys.stderr.flush()
    read, write = os.pipe()
    original = os.dup(2)
    os.dup2(write, 2)
    os.close(write)

    def pump() -> None:
        with os.fdopen(read, "rb") as source, os.fdopen(os.dup(original), "wb", buffering=0) as target:
            for line in source:
                if not NATIVE_LOG.match(line):
                    target.write(line)

    def restore() -> None:
        sys.stderr.flush()
        os.dup2(original, 2)  # the pipe's last write end in this process: the pump reads to its end
        thread.join(timeout=2)

    thread = threading.Thread(target=pump, name="native-log-filter", daemon=True)
    thread.start()
    filter_native_logs.pump = thread
    atexit.register(restore)


def quiet_tensorflow() -> None:
    """Have TensorFlow, whenever this process imports it, start without its log lines (see `QuietTensorFlow`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log lines after start-up
    if "tensorflow" not in sys.modules and not any(isinstance(f, QuietTensorFlow) for f in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlow())
