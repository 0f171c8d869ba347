"""Computing the feature table on all cores of this machine or on a Dask cluster.

Each part file is one task: read its clips, featurise them as batches of clips with the same number
of frames, write the file. Parts hold clips of similar duration, which batch well. Either engine
writes the same files, and memory does not grow with the number of clips.
"""

import contextlib
import ctypes
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from digits import replacing_dir
from digits.audio import read_clip
from digits.cluster import dask_client
from digits.columns import KEYS
from digits.features import FeatureParams, extract_views
from digits.table import ORDER, features_table, write_features

Task = tuple[pa.Table, Path]
WORKER_THREADS = 1  # a pretrained front end's threads in each worker process of a pool that fills the cores


def write_part(rows: pa.Table, p: FeatureParams, model_dir: Path | None, threads: int, dest: Path) -> int:
    """Read and featurise the manifest rows `rows` into the Parquet file `dest` (a pretrained front end opened
    from `model_dir` on `threads` threads); returns the row count."""
    clips = [read_clip(path) for path in rows["path"].to_pylist()]
    matrices, summaries = extract_views(clips, p, model_dir, threads)
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


def run_local(tasks: list[Task], p: FeatureParams, model_dir: Path | None, workers: int) -> Iterator[int]:
    """Run `write_part` on every task in `workers` processes (in this one if 1); yield row counts as parts finish.

    Each process keeps BLAS (and a pretrained front end) to one thread: the processes already fill the cores.
    """
    if workers == 1:
        keep_freed_memory()
        yield from (write_part(clips, p, model_dir, 0, dest) for clips, dest in tasks)
        return
    with (
        threadpool_limits(1, user_api="blas"),
        ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=keep_freed_memory) as pool,
    ):
        # Longest clips first (the last parts), so that no worker is left with a long part at the end.
        submitted = [pool.submit(write_part, clips, p, model_dir, WORKER_THREADS, dest) for clips, dest in tasks[::-1]]
        for done in as_completed(submitted):
            yield done.result()


def run_dask(
    tasks: list[Task], p: FeatureParams, model_dir: Path | None, workers: int, scheduler: str | None
) -> Iterator[int]:
    """Run `write_part` on every task on the Dask cluster at `scheduler` (default: a LocalCluster of `workers`).

    The cluster's workers must see the clips and the output folder at the same paths (shared storage).
    """
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        arguments = [(clips, p, model_dir, 0, dest) for clips, dest in tasks]
        futures = client.map(write_part, *zip(*arguments, strict=True))
        for done in as_completed(futures):
            yield done.result()


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def featurise(
    manifest: Path,
    model_dir: Path | None,
    out_dir: Path,
    p: FeatureParams,
    rows_per_file: int,
    engine: str,
    workers: int,
    scheduler: str | None,
) -> str:
    """Write the feature table of every clip of `manifest` to `out_dir` (replaced only once complete), a pretrained
    front end's model taken from `model_dir`.

    `workers` 0 means every core. Returns a line saying what was done, and where.
    """
    workers = workers or cores()
    # Parts of clips of similar duration (the front end batches clips with the same number of frames);
    # `manifest_row` lets `load_features` give the rows back in manifest order.
    # Kept as Arrow, not pandas: a few tens of bytes per clip in this process, whatever the corpus size.
    clips = pq.ParquetFile(manifest).read(columns=[*KEYS, "duration"])  # one file: no dataset API start-up
    clips = clips.append_column(ORDER, pa.array(np.arange(clips.num_rows))).select([ORDER, *KEYS, "duration"])
    order = np.argsort(clips["duration"].to_numpy(), kind="stable")
    clips, n, rows = clips.drop_columns(["duration"]), clips.num_rows, rows_per_file
    with replacing_dir(out_dir) as partial, tqdm(total=n, desc="features", unit="clip", mininterval=1) as bar:
        folder = partial.resolve()
        # Each part a compact copy of its rows (a pickled slice would carry the whole table along).
        tasks = [(clips.take(order[i : i + rows]), folder / f"part-{i // rows:05d}.parquet") for i in range(0, n, rows)]
        if engine == "local":
            finished, where = run_local(tasks, p, model_dir, workers), f"{workers} processes"
        else:
            finished, where = (
                run_dask(tasks, p, model_dir, workers, scheduler),
                f"Dask at {scheduler or 'a LocalCluster'}",
            )
        for count in finished:
            bar.update(count)
    rows, columns = p.matrix_shape
    return f"{n} clips -> {out_dir}/ ({len(tasks)} parts, {where}): {p.matrix} {rows}x{columns}, summary"
