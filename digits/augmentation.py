"""Features of randomly perturbed copies of every clip, for training only.

Each copy is sped up or slowed down, pitch-shifted and, with some probability, mixed with white
noise or with babble: `talkers` overlapping clips of one voice, by `babble_from` the clip's own speaker
or one other speaker drawn per copy. Babble is made from train-split clips only, so that no test
clip is heard in training, even as background. The `noise_speaker` column names that voice, so that a
leave-one-speaker-out fold can leave out every copy that carries the held-out voice. Features come
from the same `extract_batch` as the clips' own. Written as a feature table (`digits.table`) with
`copy` (1..copies) and `noise_speaker` columns.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from digits import replacing_dir
from digits.audio import read_clips
from digits.frontend import FeatureParams, extract_batch
from digits.params import AugmentParams
from digits.perturb import perturb
from digits.table import KEYS, features_table, write_features


def babble_pools(clips: pd.DataFrame) -> dict[str, list]:
    """Index labels of each speaker's train-split clips in `clips`: what babble may be made of."""
    train = clips[clips["split"] == "train"]
    return {str(speaker): list(group.index) for speaker, group in train.groupby("speaker", sort=True)}


def babble_voice(speaker: str, speakers: list[str], babble_from: str, rng: np.random.Generator) -> str:
    """The speaker whose clips make a copy's babble: `speaker` itself (`own`) or a random other one (`other`)."""
    others = [s for s in speakers if s != speaker]
    return str(rng.choice(others)) if babble_from == "other" and others else speaker


def augment(manifest: Path, out_dir: Path, features: FeatureParams, p: AugmentParams) -> str:
    """Write the features of `p.copies` perturbed copies of every clip of `manifest` to `out_dir`, one part
    per speaker (replaced only once complete); returns a line saying what was done."""
    clips = pd.read_parquet(manifest)[KEYS]
    sr = features.sample_rate
    audio = dict(zip(clips.index, read_clips(clips["path"], sr), strict=True))
    groups = {speaker: list(group.index) for speaker, group in clips.groupby("speaker", sort=True)}
    pools = babble_pools(clips)
    with (
        replacing_dir(out_dir) as partial,
        tqdm(total=len(clips) * p.copies, desc="augment", unit="clip", mininterval=1) as bar,
    ):
        for part, (speaker, indices) in enumerate(groups.items()):
            rows, perturbed = [], []
            for index in indices:
                for copy in range(1, p.copies + 1):
                    rng = np.random.default_rng([p.seed, index, copy])
                    voice = babble_voice(speaker, list(pools), p.babble_from, rng)
                    pool = [audio[i] for i in pools.get(voice, []) if i != index]
                    y, noise = perturb(audio[index], sr, rng, pool, p)
                    perturbed.append((y, sr))
                    noise_speaker = voice if noise == "babble" else ""
                    rows.append({**clips.loc[index].to_dict(), "copy": copy, "noise_speaker": noise_speaker})
                    bar.update()
            if rows:
                keys = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
                table = features_table(keys, *extract_batch(perturbed, features), features)
                write_features(table, partial / f"part-{part:05d}.parquet")
    return f"{len(clips) * p.copies} perturbed copies ({p.copies} per clip) -> {out_dir}/"
