"""Stage `augment`: features of `copies` randomly perturbed versions of every clip, for training only.

Each copy is sped up or slowed down, pitch-shifted and, with some probability, mixed with white
noise or with babble: `talkers` overlapping clips of one voice, by `babble_from` the clip's own speaker
or one other speaker drawn per copy. Babble is made from train-split clips only, so that no test
clip is heard in training, even as background. The `noise_speaker` column names that voice, so that a
leave-one-speaker-out fold can leave out every copy that carries the held-out voice. Features come
from the same `extract_batch` as `data/features`, with the params stored there. Writes
`data/augmented/part-NNNNN.parquet` with `copy` (1..copies) and `noise_speaker` columns.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from stages import DigitsError, replacing_dir
from stages.features import KEYS, feature_params, features_table, load_clip, write_features
from stages.frontend import extract_batch, resample, to_mono
from stages.perturb import BABBLE_SNR, perturb

BABBLE_SOURCES = ("own", "other")


def speaker_clips(paths: pd.Series, sample_rate: int) -> list[np.ndarray]:
    """The clips at `paths` as mono audio at `sample_rate`."""
    clips = []
    for path in paths:
        y, sr = load_clip(path)
        clips.append(resample(to_mono(y), sr, sample_rate))
    return clips


def babble_pools(clips: pd.DataFrame) -> dict[str, list]:
    """Index labels of each speaker's train-split clips in `clips`: what babble may be made of."""
    train = clips[clips["split"] == "train"]
    return {str(speaker): list(group.index) for speaker, group in train.groupby("speaker", sort=True)}


def babble_voice(speaker: str, speakers: list[str], babble_from: str, rng: np.random.Generator) -> str:
    """The speaker whose clips make a copy's babble: `speaker` itself (`own`) or a random other one (`other`)."""
    others = [s for s in speakers if s != speaker]
    return str(rng.choice(others)) if babble_from == "other" and others else speaker


def run(
    params: dict,
    manifest: Path = Path("data/manifest.parquet"),
    features: Path = Path("data/features"),
    out_dir: Path = Path("data/augmented"),
) -> None:
    """Run the stage with the `augment` params section."""
    if params["babble_from"] not in BABBLE_SOURCES:
        raise DigitsError(f"augment.babble_from must be one of {', '.join(BABBLE_SOURCES)}: {params['babble_from']!r}")
    if params["babble_snr"] not in BABBLE_SNR:
        raise DigitsError(f"augment.babble_snr must be one of {', '.join(BABBLE_SNR)}: {params['babble_snr']!r}")
    p = feature_params(features)
    clips = pd.read_parquet(manifest)[KEYS]
    copies = params["copies"]
    names = ("speed", "pitch", "noise_prob", "snr_db", "babble_share", "talkers", "babble_snr")
    settings = {k: params[k] for k in names}
    audio = dict(zip(clips.index, speaker_clips(clips["path"], p.sample_rate), strict=True))
    groups = {speaker: list(group.index) for speaker, group in clips.groupby("speaker", sort=True)}
    pools = babble_pools(clips)
    with (
        replacing_dir(out_dir) as partial,
        tqdm(total=len(clips) * copies, desc="augment", unit="clip", mininterval=1) as bar,
    ):
        for part, (speaker, indices) in enumerate(groups.items()):
            rows, perturbed = [], []
            for index in indices:
                for copy in range(1, copies + 1):
                    rng = np.random.default_rng([params["seed"], index, copy])
                    voice = babble_voice(speaker, list(pools), params["babble_from"], rng)
                    pool = [audio[i] for i in pools.get(voice, []) if i != index]
                    y, noise = perturb(audio[index], p.sample_rate, rng, pool, **settings)
                    perturbed.append((y, p.sample_rate))
                    noise_speaker = voice if noise == "babble" else ""
                    rows.append({**clips.loc[index].to_dict(), "copy": copy, "noise_speaker": noise_speaker})
                    bar.update()
            if rows:
                keys = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
                table = features_table(keys, *extract_batch(perturbed, p), p)
                write_features(table, partial / f"part-{part:05d}.parquet")
    print(f"{len(clips) * copies} perturbed copies ({copies} per clip) -> {out_dir}/")
