"""The Whisper feature tables: one row per clip (or noisy copy), its keys, its pooled encoder states and zero-shot
scores.

One Parquet file each (a few MB: 778 numbers a clip), the Whisper params in the schema metadata.
"""

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from digits import DigitsError, replacing_dir
from digits.audio import read_clip
from digits.cluster import dask_client
from digits.columns import KEYS, fixed_lists
from digits.dsp import to_mono
from digits.params import AugmentParams, WhisperFeaturesParams
from digits.perturb import add_random_noise
from digits.whisper import WIDTH, Whisper, WhisperParams

META_KEY = b"digits.whisper_params"
FILE = "whisper.parquet"
BABBLE_VOICES = 6  # clips of other speakers a noisy copy's babble is drawn from
TASK_BATCHES = 8  # batches of clips in one Dask task


def read_audio(clips: pd.DataFrame) -> list[np.ndarray]:
    """The mono audio of each clip of a manifest, at its own rate."""
    return [to_mono(read_clip(path)[0]) for path in tqdm(clips["path"], desc="read", unit="clip", mininterval=2)]


def whisper_params(p: WhisperFeaturesParams) -> WhisperParams:
    """What a feature table is made with, of the stage's params."""
    return WhisperParams(p.window, p.compute_type)


def batches(rates: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices of the clips in each batch: at most `batch_size` clips, all of one rate."""
    found = []
    for rate in np.unique(rates):
        same = np.flatnonzero(rates == rate)
        found += [same[start : start + batch_size] for start in range(0, len(same), batch_size)]
    return found


@lru_cache(maxsize=1)
def opened(model_dir: Path, p: WhisperParams, threads: int) -> Whisper:
    """Whisper opened once per process (a Dask worker runs many tasks)."""
    return Whisper(model_dir, p, threads)


def batch_features(model_dir: Path, p: WhisperParams, batches: list[tuple[list[np.ndarray], int]]) -> list:
    """(pooled states, zero-shot scores) of each batch of (mono clips, their rate), on one thread: a Dask task."""
    whisper = opened(model_dir, p, 1)
    return [whisper.features(clips, rate) for clips, rate in batches]


def features_of(
    audio: list[np.ndarray], rates: np.ndarray, model_dir: Path, p: WhisperFeaturesParams
) -> tuple[np.ndarray, np.ndarray]:
    """(pooled states, zero-shot scores) of mono clips at `rates`, `p.batch_size` clips of one rate a call: in this
    process on `p.threads` threads, or (`p.engine` dask) `TASK_BATCHES` batches a task on a Dask cluster, one
    thread a worker. The same bytes either way: Whisper's output depends on neither the threads nor the batch."""
    params = whisper_params(p)
    states, scores = np.zeros((len(audio), 2 * WIDTH), np.float32), np.zeros((len(audio), 10), np.float32)
    found = batches(rates, p.batch_size)
    with tqdm(total=len(audio), desc="whisper", unit="clip", mininterval=2) as bar:
        if p.engine == "local":
            whisper = opened(model_dir, params, p.threads)
            for batch in found:
                states[batch], scores[batch] = whisper.features([audio[i] for i in batch], int(rates[batch[0]]))
                bar.update(len(batch))
            return states, scores
        from dask.distributed import as_completed

        tasks = [found[i : i + TASK_BATCHES] for i in range(0, len(found), TASK_BATCHES)]
        with dask_client(p.workers or None, p.scheduler) as client:
            futures = {
                client.submit(
                    batch_features, model_dir, params, [([audio[i] for i in b], int(rates[b[0]])) for b in task]
                ): task
                for task in tasks
            }
            for done in as_completed(futures):
                for batch, (batch_states, batch_scores) in zip(futures[done], done.result(), strict=True):
                    states[batch], scores[batch] = batch_states, batch_scores
                    bar.update(len(batch))
    return states, scores


def noisy_copies(clips: pd.DataFrame, audio: list[np.ndarray], copies: int, p: AugmentParams) -> tuple:
    """(keys with a `copy` column, audio) of `copies` copies of each clip mixed with noise as `augment` mixes it
    (`noise_prob`, `babble_share`, `talkers`, `snr_db`, `babble_snr`, `seed`; babble of other speakers' clips),
    each seeded by (seed, clip, copy)."""
    speakers = clips["speaker"].to_numpy()
    rows, noisy = [], []
    for i in range(len(clips)):
        others = np.flatnonzero(speakers != speakers[i])
        for copy in range(1, copies + 1):
            rng = np.random.default_rng([p.seed, i, copy])
            pool = [audio[j] for j in rng.choice(others, min(BABBLE_VOICES, len(others)), replace=False)]
            noisy.append(add_random_noise(audio[i], rng, pool, p)[0])
            rows.append(i)
    keys = clips.iloc[rows].reset_index(drop=True)
    return keys.assign(copy=np.tile(np.arange(1, copies + 1), len(clips))), noisy


def write_table(keys: pd.DataFrame, states: np.ndarray, scores: np.ndarray, p: WhisperParams, dest: Path) -> None:
    """Write the feature table of `keys` (the manifest's key columns, `copy` or a non-digit's `kind`) into the
    folder `dest`."""
    columns = [k for k in [*KEYS, "copy", "kind"] if k in keys]
    table = pa.Table.from_pandas(keys[columns], preserve_index=False)
    table = table.append_column("states", fixed_lists(states)).append_column("scores", fixed_lists(scores))
    table = table.replace_schema_metadata({META_KEY: json.dumps(p.to_dict()).encode()})
    with replacing_dir(dest) as partial:
        pq.write_table(table, partial / FILE, compression="zstd", use_dictionary=["path", "corpus", "speaker", "split"])


def featurise(manifest: Path, model_dir: Path, dest: Path, p: WhisperFeaturesParams) -> str:
    """Write the Whisper features of every clip of `manifest` to the folder `dest`."""
    clips = pd.read_parquet(manifest)
    states, scores = features_of(read_audio(clips), clips["sample_rate"].to_numpy(), model_dir, p)
    write_table(clips, states, scores, whisper_params(p), dest)
    return f"Whisper features of {len(clips)} clips -> {dest}/{FILE}"


def augment(
    manifest: Path, model_dir: Path, dest: Path, p: WhisperFeaturesParams, copies: int, noise: AugmentParams
) -> str:
    """Write the Whisper features of `copies` noisy copies of every clip the head trains on (real voices, outside
    the test split) to the folder `dest`."""
    clips = pd.read_parquet(manifest)
    clips = clips[~clips["training_only"].astype(bool) & (clips["split"] != "test")].reset_index(drop=True)
    keys, noisy = noisy_copies(clips, read_audio(clips), copies, noise)
    states, scores = features_of(noisy, keys["sample_rate"].to_numpy(), model_dir, p)
    write_table(keys, states, scores, whisper_params(p), dest)
    return f"Whisper features of {len(keys)} noisy copies of {len(clips)} clips -> {dest}/{FILE}"


def featurise_files(clips: pd.DataFrame, model_dir: Path, dest: Path, p: WhisperFeaturesParams) -> str:
    """Write the Whisper features of the audio files `clips["path"]` (any rate; their other columns kept as keys:
    see `write_table`) to the folder `dest`."""
    read = [read_clip(path) for path in tqdm(clips["path"], desc="read", unit="clip", mininterval=2)]
    states, scores = features_of([to_mono(y) for y, _ in read], np.array([sr for _, sr in read]), model_dir, p)
    write_table(clips, states, scores, whisper_params(p), dest)
    return f"Whisper features of {len(clips)} files -> {dest}/{FILE}"


def load(features: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, WhisperParams]:
    """(clip keys, pooled states `(n, 768)`, zero-shot scores `(n, 10)`, the Whisper params) of a feature table."""
    path = features / FILE
    if not path.is_file():
        raise DigitsError(f"no Whisper features in {features}/: run `dvc repro`")
    table = pq.read_table(path)
    n = table.num_rows
    states = table["states"].combine_chunks().flatten().to_numpy().reshape(n, -1)
    scores = table["scores"].combine_chunks().flatten().to_numpy().reshape(n, -1)
    params = WhisperParams(**json.loads(table.schema.metadata[META_KEY]))
    return table.drop_columns(["states", "scores"]).to_pandas(), states, scores, params
