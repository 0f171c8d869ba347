"""Accuracy in noise: clips mixed with white, speech-shaped or babble noise at several SNRs, over seeded draws."""

from collections.abc import Callable

import numpy as np
from tqdm import tqdm

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
