"""Read one stage's section of `params.yaml`."""

from pathlib import Path

import yaml

from stages import DigitsError


def load_section(name: str, path: str | Path = "params.yaml") -> dict:
    """Return section `name` of the params file at `path`."""
    path = Path(path)
    if not path.is_file():
        raise DigitsError(f"params file not found: {path}")
    params = yaml.safe_load(path.read_text()) or {}
    if name not in params:
        raise DigitsError(f"section '{name}' missing from {path}")
    return params[name] or {}
