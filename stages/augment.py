"""Stage `augment`: features of `copies` randomly perturbed versions of every clip, for training only.

Each copy is sped up or slowed down, pitch-shifted and, with some probability, mixed with white
noise or with babble made from *the same speaker's* other clips (so no other voice leaks into a
leave-one-speaker-out fold). Features come from the same `extract_batch` as `data/features`, with the
params stored there. Writes `data/augmented/part-NNNNN.parquet` with a `copy` column (1..copies).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from stages import replacing_dir
from stages.features import KEYS, feature_params, features_table, load_clip, write_features
from stages.frontend import extract_batch, resample, to_mono
from stages.perturb import perturb


def speaker_clips(paths: pd.Series, sample_rate: int) -> list[np.ndarray]:
    """The clips at `paths` as mono audio at `sample_rate`."""
    clips = []
    for path in paths:
        y, sr = load_clip(path)
        clips.append(resample(to_mono(y), sr, sample_rate))
    return clips


def run(
    params: dict,
    manifest: Path = Path("data/manifest.parquet"),
    features: Path = Path("data/features"),
    out_dir: Path = Path("data/augmented"),
) -> None:
    """Run the stage with the `augment` params section."""
    p = feature_params(features)
    clips = pd.read_parquet(manifest)[KEYS]
    copies = params["copies"]
    settings = {k: params[k] for k in ("speed", "pitch", "noise_prob", "snr_db")}
    with (
        replacing_dir(out_dir) as partial,
        tqdm(total=len(clips) * copies, desc="augment", unit="clip", mininterval=1) as bar,
    ):
        for part, (_, group) in enumerate(clips.groupby("speaker", sort=True)):
            audio = speaker_clips(group["path"], p.sample_rate)
            rows, perturbed = [], []
            for i, (index, y) in enumerate(zip(group.index, audio, strict=True)):
                others = audio[:i] + audio[i + 1 :]
                for copy in range(1, copies + 1):
                    rng = np.random.default_rng([params["seed"], index, copy])
                    perturbed.append((perturb(y, p.sample_rate, rng, others, **settings), p.sample_rate))
                    rows.append({**group.loc[index].to_dict(), "copy": copy})
                    bar.update()
            if rows:
                keys = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
                table = features_table(keys, *extract_batch(perturbed, p), p)
                write_features(table, partial / f"part-{part:05d}.parquet")
    print(f"{len(clips) * copies} perturbed copies ({copies} per clip) -> {out_dir}/")
