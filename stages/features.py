"""Stage `features`: MFCC matrix and summary vector of every manifest clip, to Parquet.

Writes `data/features/part-NNNNN.parquet`, a partitioned dataset that pandas, Dask or Spark read
as one table: one row per clip (its manifest keys, its position in the manifest, its features),
`rows_per_file` rows per part, the front-end params in the schema metadata. Parts hold clips of
similar duration, which batch well; `load_features` returns the rows in manifest order.

Each part is one task: read its clips, featurise them as batches of clips with the same number of
frames, write the file. Tasks run on all cores (`engine: local`) or on a Dask cluster (`engine:
dask`); either way the files are the same, and memory does not grow with the number of clips.
"""

import contextlib
import ctypes
import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from stages import DigitsError, replacing_dir
from stages.audio import read_audio
from stages.frontend import FeatureParams, extract_views

META_KEY = b"digits.feature_params"
KEYS = ["path", "label", "speaker", "take", "split"]
ORDER = "manifest_row"  # a clip's position in the manifest
ENGINES = ("local", "dask")
Task = tuple[pa.Table, Path]


def fixed_lists(values: np.ndarray) -> pa.FixedSizeListArray:
    """Arrow column of the rows of `values` `(n, ...)`, each flattened row-major to a float32 vector."""
    flat = values.reshape(len(values), -1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel(), pa.float32()), flat.shape[1])


def features_table(clips: pa.Table, matrices: np.ndarray, summaries: np.ndarray, p: FeatureParams) -> pa.Table:
    """Table of the manifest rows `clips` with their MFCC `matrices` and `summaries`, and `p` as metadata."""
    table = clips.append_column("mfcc", fixed_lists(matrices)).append_column("summary", fixed_lists(summaries))
    return table.replace_schema_metadata({META_KEY: json.dumps(p.to_dict()).encode()})


def write_features(table: pa.Table, dest: Path) -> None:
    """Write a features table as the Parquet file `dest`: zstd, dictionary-encoding only the key columns.

    (Trying dictionaries on the float vectors would take three quarters of the write time, for nothing.)
    """
    pq.write_table(table, dest, compression="zstd", use_dictionary=["path", "speaker", "split"])


def load_clip(path: str) -> tuple[np.ndarray, int]:
    """(audio, sample rate) of a manifest clip; a DigitsError if it cannot be read."""
    try:
        return read_audio(path)
    except (OSError, RuntimeError) as err:
        raise DigitsError(f"cannot read {path}: {err}") from err


def write_part(rows: pa.Table, p: FeatureParams, dest: Path) -> int:
    """Read and featurise the manifest rows `rows` into the Parquet file `dest`; returns the row count."""
    matrices, summaries = extract_views([load_clip(path) for path in rows["path"].to_pylist()], p)
    write_features(features_table(rows, matrices, summaries, p), dest)
    return rows.num_rows


def keep_freed_memory() -> None:
    """Have glibc's malloc keep freed memory for reuse rather than give it back to the system at once.

    The front end allocates and frees arrays of a few MB per batch; returned to the system, each
    one's pages fault in anew, which costs about a tenth of the stage's time. Peak memory is
    unchanged (the batches are bounded). A no-op where the C library is not glibc.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB free at the top of the heap
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: arrays up to 1 GiB come from the heap


def run_local(tasks: list[Task], p: FeatureParams, workers: int) -> Iterator[int]:
    """Run `write_part` on every task in `workers` processes (in this one if 1); yield row counts as parts finish.

    Each process keeps BLAS to one thread: the processes already fill the cores.
    """
    if workers == 1:
        keep_freed_memory()
        yield from (write_part(clips, p, dest) for clips, dest in tasks)
        return
    fork = get_context("fork")
    with (
        threadpool_limits(1, user_api="blas"),
        ProcessPoolExecutor(workers, mp_context=fork, initializer=keep_freed_memory) as pool,
    ):
        # Longest clips first (the last parts), so that no worker is left with a long part at the end.
        for done in as_completed([pool.submit(write_part, clips, p, dest) for clips, dest in reversed(tasks)]):
            yield done.result()


def run_dask(tasks: list[Task], p: FeatureParams, workers: int, scheduler: str | None) -> Iterator[int]:
    """Run `write_part` on every task on the Dask cluster at `scheduler` (default: a LocalCluster of `workers`).

    The cluster's workers must see the clips and the output folder at the same paths (shared storage).
    """
    from contextlib import nullcontext

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = nullcontext(scheduler)
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=40)
    with cluster as address, Client(address) as client:
        futures = client.map(write_part, *zip(*[(clips, p, dest) for clips, dest in tasks], strict=True))
        for done in as_completed(futures):
            yield done.result()


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def feature_params(path: str | Path = "data/features") -> FeatureParams:
    """The front-end params a features dataset was computed with."""
    parts = sorted(Path(path).glob("*.parquet"))
    if not parts:
        raise DigitsError(f"no features in {path}; run `dvc repro features`")
    return FeatureParams(**json.loads(pq.read_schema(parts[0]).metadata[META_KEY]))


def load_features(
    path: str | Path = "data/features", views: bool = False
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, FeatureParams]:
    """(clip keys, MFCC matrices `(n, n_mfcc, frames)`, summaries `(n, d)`, front-end params).

    The keys are every column but the features (for augmented copies, `copy` as well); rows come in
    manifest order, whatever order the parts were written in. With `views`, the features of every
    stored view of a clip (see `extract_views`): `(n, views, n_mfcc, frames)` and `(n, views, d)`.
    """
    p = feature_params(path)
    table = pq.read_table(path)
    if ORDER in table.column_names:
        table = table.sort_by(ORDER).drop_columns([ORDER])
    n = table.num_rows
    matrix = table["mfcc"].combine_chunks().flatten().to_numpy().reshape(n, -1, p.n_mfcc, p.frames)
    summary = table["summary"].combine_chunks().flatten().to_numpy().reshape(n, matrix.shape[1], -1)
    if not views:
        matrix, summary = matrix[:, 0], summary[:, 0]
    return table.drop_columns(["mfcc", "summary"]).to_pandas(), matrix, summary, p


def run(params: dict, manifest: Path = Path("data/manifest.parquet"), out_dir: Path = Path("data/features")) -> None:
    """Run the stage with the `features` params section."""
    p = FeatureParams.from_dict(params)
    engine, scheduler = params.get("engine", "local"), params.get("scheduler")
    workers = params.get("workers") or cores()
    if engine not in ENGINES:
        raise DigitsError(f"unknown features.engine {engine!r}; choose one of {', '.join(ENGINES)}")
    # Parts of clips of similar duration (the front end batches clips with the same number of frames);
    # `manifest_row` lets `load_features` give the rows back in manifest order.
    # Kept as Arrow, not pandas: a few tens of bytes per clip in this process, whatever the corpus size.
    clips = pq.ParquetFile(manifest).read(columns=[*KEYS, "duration"])  # one file: no dataset API start-up
    clips = clips.append_column(ORDER, pa.array(np.arange(clips.num_rows))).select([ORDER, *KEYS, "duration"])
    order = np.argsort(clips["duration"].to_numpy(), kind="stable")
    clips, n, rows = clips.drop_columns(["duration"]), clips.num_rows, params["rows_per_file"]
    with replacing_dir(out_dir) as partial, tqdm(total=n, desc="features", unit="clip", mininterval=1) as bar:
        folder = partial.resolve()
        # Each part a compact copy of its rows (a pickled slice would carry the whole table along).
        tasks = [(clips.take(order[i : i + rows]), folder / f"part-{i // rows:05d}.parquet") for i in range(0, n, rows)]
        if engine == "local":
            finished, where = run_local(tasks, p, workers), f"{workers} processes"
        else:
            finished, where = run_dask(tasks, p, workers, scheduler), f"Dask at {scheduler or 'a LocalCluster'}"
        for count in finished:
            bar.update(count)
    print(f"{n} clips -> {out_dir}/ ({len(tasks)} parts, {where}): MFCC {p.n_mfcc}x{p.frames}, summary")
