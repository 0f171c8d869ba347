"""Stage `features`: MFCC matrix and summary vector of every manifest clip, to Parquet.

Writes `data/features/part-NNNNN.parquet` (a dataset pandas, Dask or Spark read as one table),
one row per clip, with the front-end params in the schema metadata.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from stages import DigitsError, replacing_dir
from stages.audio import read_audio
from stages.frontend import FeatureParams, extract

META_KEY = b"digits.feature_params"
KEYS = ["path", "label", "speaker", "take", "split"]


def fixed_lists(rows: list[np.ndarray]) -> pa.FixedSizeListArray:
    """Arrow column of equal-length float32 vectors (matrices are flattened row-major)."""
    flat = np.stack(rows).reshape(len(rows), -1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel(), pa.float32()), flat.shape[1])


def features_table(clips: pd.DataFrame, features: list[tuple[np.ndarray, np.ndarray]], p: FeatureParams) -> pa.Table:
    """Table of the manifest rows `clips` with their `(matrix, summary)` features and `p` as metadata."""
    matrices, summaries = zip(*features, strict=True)
    table = pa.Table.from_pandas(clips.reset_index(drop=True), preserve_index=False)
    table = table.append_column("mfcc", fixed_lists(matrices)).append_column("summary", fixed_lists(summaries))
    return table.replace_schema_metadata({META_KEY: json.dumps(p.to_dict()).encode()})


def load_clip(path: str) -> tuple[np.ndarray, int]:
    """(audio, sample rate) of a manifest clip; a DigitsError if it cannot be read."""
    try:
        return read_audio(path)
    except (OSError, RuntimeError) as err:
        raise DigitsError(f"cannot read {path}: {err}") from err


def featurise(clips: pd.DataFrame, p: FeatureParams, progress: tqdm | None = None) -> pa.Table:
    """Features table of the manifest rows `clips`, with `p` in the schema metadata."""
    features = []
    for path in clips["path"]:
        features.append(extract(*load_clip(path), p))
        if progress is not None:
            progress.update()
    return features_table(clips[KEYS], features, p)


def feature_params(path: str | Path = "data/features") -> FeatureParams:
    """The front-end params a features dataset was computed with."""
    parts = sorted(Path(path).glob("*.parquet"))
    if not parts:
        raise DigitsError(f"no features in {path}; run `dvc repro features`")
    return FeatureParams(**json.loads(pq.read_schema(parts[0]).metadata[META_KEY]))


def load_features(path: str | Path = "data/features") -> tuple[pd.DataFrame, np.ndarray, np.ndarray, FeatureParams]:
    """(clip keys, MFCC matrices `(n, n_mfcc, frames)`, summaries `(n, d)`, front-end params).

    The keys are every column but the features (for augmented copies, `copy` as well).
    """
    p = feature_params(path)
    table = pq.read_table(path)
    n = table.num_rows
    matrix = table["mfcc"].combine_chunks().flatten().to_numpy().reshape(n, p.n_mfcc, p.frames)
    summary = table["summary"].combine_chunks().flatten().to_numpy().reshape(n, -1)
    return table.drop_columns(["mfcc", "summary"]).to_pandas(), matrix, summary, p


def run(params: dict, manifest: Path = Path("data/manifest.parquet"), out_dir: Path = Path("data/features")) -> None:
    """Run the stage with the `features` params section."""
    p = FeatureParams.from_dict(params)
    clips = pd.read_parquet(manifest)
    rows = params["rows_per_file"]
    with replacing_dir(out_dir) as partial, tqdm(total=len(clips), desc="features", unit="clip", mininterval=1) as bar:
        for part, start in enumerate(range(0, len(clips), rows)):
            chunk = clips.iloc[start : start + rows]
            pq.write_table(featurise(chunk, p, bar), partial / f"part-{part:05d}.parquet")
    print(f"{len(clips)} clips -> {out_dir}/: MFCC {p.n_mfcc}x{p.frames}, summary of {p.summary_size}")
