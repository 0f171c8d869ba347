"""The Whisper feature table: one row per manifest clip, its keys, its pooled encoder states and zero-shot scores.

One Parquet file (a few MB: 778 numbers a clip), the Whisper params in the schema metadata.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from digits import DigitsError, replacing_dir
from digits.audio import read_clip
from digits.frontend import to_mono
from digits.table import KEYS, fixed_lists
from digits.whisper import Whisper, WhisperParams

META_KEY = b"digits.whisper_params"
FILE = "whisper.parquet"


def featurise(manifest: Path, model_dir: Path, dest: Path, p: WhisperParams, batch_size: int, threads: int) -> str:
    """Write the Whisper features of every clip of `manifest` to the folder `dest`, `batch_size` clips a call."""
    clips = pd.read_parquet(manifest)
    whisper = Whisper(model_dir, p, threads)
    found = []
    with tqdm(total=len(clips), desc="whisper", unit="clip", mininterval=2) as bar:
        for _, rate_group in clips.groupby("sample_rate", sort=False):
            for start in range(0, len(rate_group), batch_size):
                rows = rate_group.iloc[start : start + batch_size]
                audio = [to_mono(read_clip(path)[0]) for path in rows["path"]]
                pooled, digit_scores = whisper.features(audio, int(rows["sample_rate"].iloc[0]))
                found.append(pd.DataFrame({"i": rows.index, "s": list(pooled), "z": list(digit_scores)}))
                bar.update(len(rows))
    found = pd.concat(found).set_index("i").loc[clips.index]
    table = pa.Table.from_pandas(clips[[k for k in KEYS if k in clips]], preserve_index=False)
    table = table.append_column("states", fixed_lists(np.stack(found["s"])))
    table = table.append_column("scores", fixed_lists(np.stack(found["z"])))
    table = table.replace_schema_metadata({META_KEY: json.dumps(p.to_dict()).encode()})
    with replacing_dir(dest) as partial:
        pq.write_table(table, partial / FILE, compression="zstd", use_dictionary=["path", "corpus", "speaker", "split"])
    return f"Whisper features of {len(clips)} clips -> {dest}/{FILE}"


def load(features: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, WhisperParams]:
    """(clip keys, pooled states `(n, 768)`, zero-shot scores `(n, 10)`, the Whisper params) of a feature table."""
    path = features / FILE
    if not path.is_file():
        raise DigitsError(f"no Whisper features in {features}/: run `dvc repro whisper_features`")
    table = pq.read_table(path)
    n = table.num_rows
    states = table["states"].combine_chunks().flatten().to_numpy().reshape(n, -1)
    scores = table["scores"].combine_chunks().flatten().to_numpy().reshape(n, -1)
    params = WhisperParams(**json.loads(table.schema.metadata[META_KEY]))
    return table.drop_columns(["states", "scores"]).to_pandas(), states, scores, params
