"""The feature table: one row per clip (its manifest keys, its position in the manifest, its features).

A folder of `part-NNNNN.parquet` files that pandas, Dask or Spark read as one table, the front-end
params in the schema metadata. `mfcc` (or `embedding`, with the speech_embedding front end) holds each clip's
views' matrices and `summary` their summary vectors, each flattened row-major to a float32 vector.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from digits import DigitsError
from digits.columns import fixed_lists
from digits.features import FeatureParams

META_KEY = b"digits.feature_params"
ORDER = "manifest_row"  # a clip's position in the manifest


def features_table(clips: pa.Table, matrices: np.ndarray, summaries: np.ndarray, p: FeatureParams) -> pa.Table:
    """Table of the manifest rows `clips` with their `matrices` (column `p.matrix`) and `summaries`, `p` as
    metadata."""
    table = clips.append_column(p.matrix, fixed_lists(matrices)).append_column("summary", fixed_lists(summaries))
    return table.replace_schema_metadata({META_KEY: json.dumps(p.to_dict()).encode()})


def write_features(table: pa.Table, dest: Path) -> None:
    """Write a features table as the Parquet file `dest`: zstd, dictionary-encoding only the key columns.

    (Trying dictionaries on the float vectors would take three quarters of the write time, for nothing.)
    """
    pq.write_table(table, dest, compression="zstd", use_dictionary=["path", "corpus", "speaker", "split"])


def feature_params(path: Path) -> FeatureParams:
    """The front-end params a features dataset was computed with."""
    parts = sorted(Path(path).glob("*.parquet"))
    if not parts:
        raise DigitsError(f"no features in {path}; run `dvc repro features`")
    stored = json.loads(pq.read_schema(parts[0]).metadata[META_KEY])
    try:
        return FeatureParams.from_dict(stored)
    except (ValueError, TypeError):
        raise DigitsError(
            f"the features in {path} were made by an older version of this project: run `dvc repro`"
        ) from None


def load_features(path: Path, views: bool = False) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, FeatureParams]:
    """(clip keys, matrices `(n, *matrix_shape)`, summaries `(n, d)`, front-end params).

    The keys are every column but the features (for augmented copies, `copy` as well); rows come in
    manifest order, whatever order the parts were written in. With `views`, the features of every
    stored view of a clip (see `extract_views`): `(n, views, *matrix_shape)` and `(n, views, d)`.
    """
    p = feature_params(path)
    table = pq.read_table(path)
    if ORDER in table.column_names:
        table = table.sort_by(ORDER).drop_columns([ORDER])
    n = table.num_rows
    matrix = table[p.matrix].combine_chunks().flatten().to_numpy().reshape(n, -1, *p.matrix_shape)
    summary = table["summary"].combine_chunks().flatten().to_numpy().reshape(n, matrix.shape[1], -1)
    if not views:
        matrix, summary = matrix[:, 0], summary[:, 0]
    return table.drop_columns([p.matrix, "summary"]).to_pandas(), matrix, summary, p
