"""The features stage: one row per clip, the same files whichever engine and however many workers."""

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from digits import DigitsError
from digits.params import FeaturesParams
from digits.table import load_features
from stages.features import run
from tests.conftest import ingest_into, params_of, same_files

PARAMS = {"rows_per_file": 40}


@pytest.fixture(scope="module")
def manifest(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest of the synthetic corpus (180 clips)."""
    return ingest_into(tmp_path_factory.mktemp("ingest"), data_dir=str(corpus), split="random")


@pytest.fixture(scope="module")
def local(manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "features"
    run(params_of(FeaturesParams, **PARAMS, workers=2), manifest, None, out)
    return out


def test_every_clip_once_in_manifest_order_in_parts_of_rows_per_file(manifest: Path, local: Path) -> None:
    clips = pd.read_parquet(manifest)
    keys, matrix, summary, p = load_features(local)
    assert keys["path"].tolist() == clips["path"].tolist() and len(keys) == 180
    assert [pq.read_metadata(f).num_rows for f in sorted(local.glob("*.parquet"))] == [40] * 4 + [20]
    stored = pd.read_parquet(local)  # parts by duration, for batching
    durations = clips["duration"].to_numpy()[stored["manifest_row"]]
    assert (durations[1:] >= durations[:-1]).all()
    assert matrix.shape == (180, *p.matrix_shape) == (180, p.settings.n_mfcc, p.settings.frames) and summary.shape == (
        180,
        p.summary_size,
    )


def test_one_worker_writes_the_same_files(manifest: Path, local: Path, tmp_path: Path) -> None:
    run(params_of(FeaturesParams, **PARAMS, workers=1), manifest, None, tmp_path / "features")
    assert same_files(local, tmp_path / "features")


def test_dask_local_cluster_writes_the_same_files(manifest: Path, local: Path, tmp_path: Path) -> None:
    """A real dask.distributed LocalCluster of 2 worker processes."""
    run(
        params_of(FeaturesParams, **PARAMS, engine="dask", workers=2, scheduler=None),
        manifest,
        None,
        tmp_path / "features",
    )
    assert same_files(local, tmp_path / "features")


def test_a_running_dask_scheduler_is_used_by_address(manifest: Path, local: Path, tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=None) as cluster:
        run(
            params_of(FeaturesParams, **PARAMS, engine="dask", scheduler=cluster.scheduler_address),
            manifest,
            None,
            tmp_path / "features",
        )
    assert same_files(local, tmp_path / "features")


def test_an_unreadable_clip_fails_the_stage_and_leaves_no_output(manifest: Path, tmp_path: Path) -> None:
    clips = pd.read_parquet(manifest)
    clips.loc[7, "path"] = str(tmp_path / "gone.wav")
    clips.to_parquet(tmp_path / "manifest.parquet")
    for workers in (1, 2):
        with pytest.raises(DigitsError, match=r"cannot read .*gone\.wav"):
            run(
                params_of(FeaturesParams, **PARAMS, workers=workers),
                tmp_path / "manifest.parquet",
                None,
                tmp_path / "features",
            )
        assert not (tmp_path / "features").exists() and not (tmp_path / "features.partial").exists()
