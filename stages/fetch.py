"""Stage `fetch`: obtain the raw dataset, every file verified against the pinned SHA-256 lock (`fetch.lock`).

    python -m stages.fetch data/raw

The files come from a local copy when one exists (`fetch.local_copy`, or the environment variable
DIGITS_DATA_DIR), else from the release archive at `fetch.url`.
"""

import os
from pathlib import Path

from digits import DigitsError, stage
from digits.fetching import fetch, read_lock
from digits.params import FetchParams

LOCAL_COPY_ENV = "DIGITS_DATA_DIR"


def run(p: FetchParams, raw: Path) -> None:
    """Fill the folder `raw` with the files of the lock."""
    local_copy = os.environ.get(LOCAL_COPY_ENV)
    if local_copy and not Path(local_copy).is_dir():
        raise DigitsError(f"{LOCAL_COPY_ENV}={local_copy} is not a directory")
    local_copy = local_copy or p.local_copy
    if local_copy and not Path(local_copy).is_dir():
        print(f"no local copy at {local_copy}; downloading {p.url}")
    print(fetch(p.url, p.archive_root, local_copy, read_lock(p.lock), raw))


if __name__ == "__main__":
    stage.main(run)
