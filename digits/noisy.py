"""Accuracy in noise: clips mixed with white, speech-shaped or babble noise at several SNRs, over seeded draws."""

import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd
from tqdm import tqdm

from digits.audio import read_clip, read_clips
from digits.params import VoiceNoiseParams
from digits.perturb import noisy_batch


def in_noise(
    audio: list[np.ndarray],
    pool: list[np.ndarray],
    kinds: list[str],
    snr_db: list[float],
    draws: int,
    talkers: int,
    rng: np.random.Generator,
    score: Callable[[list[np.ndarray]], dict[str, float]],
) -> dict[str, dict]:
    """For each name that `score` (clips -> accuracies by name) returns: the accuracy of the clean `audio`, the mean
    over `draws` noise draws of each (kind, SNR) condition (`pool`: the clips babble and the speech spectrum
    come from), and each condition's standard deviation over the draws (`draw_std`)."""
    conditions = [(kind, snr) for kind in kinds for snr in snr_db]
    found = [
        [score(noisy_batch(audio, kind, snr, pool, rng, talkers)) for kind, snr in conditions]
        for _ in tqdm(range(draws), desc="noise draws", unit="draw")
    ]
    clean = score(audio)
    results = {}
    for name in clean:
        table = np.array([[condition[name] for condition in draw] for draw in found])
        scores: dict = {"test_clips": len(audio), "draws": draws, "clean": clean[name]}
        spread: dict = {}
        for (kind, snr), mean, std in zip(conditions, table.mean(axis=0), table.std(axis=0), strict=True):
            scores.setdefault(kind, {})[f"snr_{snr:g}db"] = round(float(mean), 6)
            spread.setdefault(kind, {})[f"snr_{snr:g}db"] = round(float(std), 6)
        results[name] = {**scores, "draw_std": spread}
    return results


def noise_lines(scores: dict, kinds: list[str], snr_db: list[float]) -> str:
    """One line: the clean accuracy, then each kind's accuracy at each SNR."""
    lines = [
        f"{kind}: " + ", ".join(f"{snr:g} dB {scores[kind][f'snr_{snr:g}db']:.3f}" for snr in snr_db) for kind in kinds
    ]
    return f"clean {scores['clean']:.3f}; " + "; ".join(lines)


def voice_in_noise(
    clips: pd.DataFrame, speaker: str, p: VoiceNoiseParams
) -> tuple[pd.DataFrame, int, dict[str, list[np.ndarray]]]:
    """(the rows of `p.clips` of `speaker`'s clips, the rate of the first, {kind: those clips at that rate, each mixed
    once with `kind` noise at `p.snr_db`}), the noise's voices (babble, the speech spectrum) drawn from the other
    real voices' clips.

    Whatever the order or the other columns of `clips` (a feature table's keys: `path`, `speaker`,
    `training_only`), the same real voices give the same clips and the same noise, so that two
    front ends' leave-one-speaker-out folds hear the same noisy audio; seeded by `p.seed` and the speaker's name.
    """
    real = clips[~clips["training_only"].astype(bool)].sort_values("path", kind="stable").reset_index(drop=True)
    own, others = real[real["speaker"] == speaker], real[real["speaker"] != speaker]
    rng = np.random.default_rng([p.seed, zlib.crc32(speaker.encode())])
    chosen = own.iloc[np.sort(rng.permutation(len(own))[: p.clips])].reset_index(drop=True)
    if chosen.empty or others.empty or not p.kinds:
        return chosen, 0, {}
    rate = read_clip(chosen["path"].iloc[0])[1]
    pool = read_clips(others["path"].iloc[np.sort(rng.permutation(len(others))[: p.babble_pool])], rate)
    audio = read_clips(chosen["path"], rate)
    return chosen, rate, {kind: noisy_batch(audio, kind, p.snr_db, pool, rng, p.talkers) for kind in p.kinds}
