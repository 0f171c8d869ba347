"""Features of randomly perturbed copies of every clip, for training only.

Each copy is sped up or slowed down, pitch-shifted and, with some probability, mixed with white
noise or with babble: `talkers` overlapping clips of one voice, by `babble_from` the clip's own speaker
or one other speaker drawn per copy. Babble is made from train-split clips only, so that no test
clip is heard in training, even as background. The `noise_speaker` column names that voice, so that a
leave-one-speaker-out fold can leave out every copy that carries the held-out voice. Features come
from the same `extract_batch` as the clips' own. Written as a feature table (`digits.table`) with
`copy` (1..copies) and `noise_speaker` columns.
"""

from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from digits import replacing_dir
from digits.audio import read_clips
from digits.columns import KEYS
from digits.engines import WORKER_THREADS, cores, keep_freed_memory
from digits.features import FeatureParams, extract_batch
from digits.params import AugmentParams
from digits.perturb import VOCODER_FFT, perturb, vocoder_spectrum
from digits.table import features_table, write_features

SHARED: dict = {}  # what every part reads (clips, their audio, the babble pools): set before the workers fork


def babble_pools(clips: pd.DataFrame) -> dict[str, list]:
    """Index labels of each real speaker's train-split clips in `clips`: what babble may be made of (never a
    training-only corpus's voice: the babble stands for the people around a real speaker)."""
    train = clips[(clips["split"] == "train") & ~clips["training_only"].astype(bool)]
    return {str(speaker): list(group.index) for speaker, group in train.groupby("speaker", sort=True)}


def babble_voice(speaker: str, speakers: list[str], babble_from: str, rng: np.random.Generator) -> str:
    """The speaker whose clips make a copy's babble: `speaker` itself (`own`) or a random other one (`other`)."""
    others = [s for s in speakers if s != speaker]
    return str(rng.choice(others)) if babble_from == "other" and others else speaker


def copies_of(clip: dict, p: AugmentParams) -> int:
    """How many perturbed copies `clip` gets: `p.copies`, or `p.training_only_copies` for a training-only one."""
    return p.training_only_copies if clip["training_only"] else p.copies


def write_copies(
    speaker: str,
    indices: list,
    features: FeatureParams,
    model_dir: Path | None,
    threads: int,
    p: AugmentParams,
    dest: Path,
) -> int:
    """Write the features of the perturbed copies of the clips at `indices` (one speaker's) to the Parquet file
    `dest` (a pretrained front end opened from `model_dir` on `threads` threads); returns the number of copies.
    Each copy is seeded by (seed, clip, copy): any worker, same copy."""
    clips, audio, pools = SHARED["clips"], SHARED["audio"], SHARED["pools"]
    sr = features.sample_rate
    rows, perturbed = [], []
    for index in indices:
        clip, y = clips.loc[index].to_dict(), audio[index]
        vocoded = p.pitch and p.pitch_shift == "vocoder" and len(y) >= VOCODER_FFT
        spectrum = vocoder_spectrum(y) if vocoded else None  # one STFT for all of the clip's copies
        for copy in range(1, copies_of(clip, p) + 1):
            rng = np.random.default_rng([p.seed, index, copy])
            voice = babble_voice(speaker, list(pools), p.babble_from, rng)
            pool = [audio[i] for i in pools.get(voice, []) if i != index]
            perturbed_y, noise = perturb(y, sr, rng, pool, p, spectrum)
            perturbed.append((perturbed_y, sr))
            rows.append({**clip, "copy": copy, "noise_speaker": voice if noise == "babble" else ""})
    if rows:
        keys = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
        write_features(
            features_table(keys, *extract_batch(perturbed, features, 1.0, model_dir, threads), features), dest
        )
    return len(rows)


def augment(
    manifest: Path, model_dir: Path | None, out_dir: Path, features: FeatureParams, p: AugmentParams, workers: int = 0
) -> str:
    """Write the features of the perturbed copies of every clip of `manifest` to `out_dir`, one part per speaker
    (replaced only once complete), on `workers` processes (0: every core), a pretrained front end's model taken
    from `model_dir`; returns a line saying what was done."""
    clips = pd.read_parquet(manifest)[KEYS]
    SHARED.update(
        clips=clips,
        audio=dict(zip(clips.index, read_clips(clips["path"], features.sample_rate), strict=True)),
        pools=babble_pools(clips),
    )
    groups = {speaker: list(group.index) for speaker, group in clips.groupby("speaker", sort=True)}
    total = int(clips["training_only"].map({True: p.training_only_copies, False: p.copies}).sum())
    workers = min(workers or cores(), max(len(groups), 1))
    threads = 0 if workers == 1 else WORKER_THREADS
    with (
        replacing_dir(out_dir) as partial,
        tqdm(total=total, desc="augment", unit="copy", mininterval=1) as bar,
    ):
        tasks = [
            (speaker, indices, features, model_dir, threads, p, partial.resolve() / f"part-{part:05d}.parquet")
            for part, (speaker, indices) in enumerate(groups.items())
        ]
        if workers == 1:
            for task in tasks:
                bar.update(write_copies(*task))
        else:
            with (
                threadpool_limits(1, user_api="blas"),
                ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=keep_freed_memory) as pool,
            ):
                for done in as_completed([pool.submit(write_copies, *task) for task in tasks]):
                    bar.update(done.result())
    SHARED.clear()
    each = f"{p.copies} per clip, {p.training_only_copies} per training-only clip"
    return f"{total} perturbed copies ({each}) -> {out_dir}/ ({workers} processes)"
