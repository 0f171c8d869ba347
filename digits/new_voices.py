"""What `digits predict` answers a voice it never heard: the right digit, a wrong one, or "no digit heard".

A recogniser's out-of-fold log-probabilities of each real voice's clean clips (its crossval stage, trained
without that voice) meet its detector's out-of-fold digit scores of the same clips (its detector stage, trained
without that voice's fold). Each voice is answered at a threshold chosen on the other voices' scores
(`refusal.choose_by_voice`, as `fusion` chooses each voice's weight on the others): a refusal is a miss like a
wrong digit, and neither the recogniser, the detector nor the threshold has heard the voice.
"""

import numpy as np
import pandas as pd

from digits import DigitsError
from digits.fusion import CLEAN, LOG_PROBA
from digits.refusal import choose_by_voice

ANSWERS = ("right", "wrong", "refused")
CLIP = ["path", "speaker", "label"]


def answers(log_proba: np.ndarray, labels: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Each clip's answer of `ANSWERS`: refused when its digit score is below `threshold`, else right when its
    most probable digit (`log_proba`, `(n, 10)`) is its label."""
    right = np.asarray(log_proba).argmax(axis=1) == np.asarray(labels)
    return np.where(np.asarray(scores) < threshold, "refused", np.where(right, "right", "wrong"))


def shares(found: np.ndarray) -> dict[str, float]:
    """{answer: its share of `found`} for each of `ANSWERS`."""
    return {answer: round(float(np.mean(found == answer)), 6) for answer in ANSWERS}


def as_shipped(recognised: pd.DataFrame, held_out: pd.DataFrame, max_false_refusals: float) -> dict:
    """Each voice's shares of `ANSWERS` (and its clips and threshold), and their means over the voices: the clean
    rows of `recognised` (a crossval or fusion table: `path`, `speaker`, `label`, `condition`, `l0` .. `l9`) that
    the detector's `held_out` scores (`path`, `speaker`, `label`, `digit_score`), each voice's threshold chosen on
    the other voices' `held_out` scores to refuse at most `max_false_refusals` of a voice's digits; a DigitsError
    when the tables share no clip or the detector scored no other voice."""
    both = recognised[recognised["condition"] == CLEAN].merge(held_out, on=CLIP)
    if both.empty:
        raise DigitsError("the recogniser's and the detector's out-of-fold tables share no clip")
    voices, scores = held_out["speaker"].to_numpy(), held_out["digit_score"].to_numpy()
    by_voice = {}
    for voice, rows in both.groupby("speaker"):
        others = voices != voice
        if not others.any():
            raise DigitsError(f"the detector scored no voice but {voice} out of fold: no threshold to choose on others")
        threshold = choose_by_voice(scores[others], voices[others], max_false_refusals)
        found = answers(rows[LOG_PROBA].to_numpy(), rows["label"].to_numpy(), rows["digit_score"], threshold)
        by_voice[str(voice)] = {**shares(found), "clips": len(rows), "threshold": round(threshold, 6)}
    mean = {answer: round(float(np.mean([v[answer] for v in by_voice.values()])), 6) for answer in ANSWERS}
    return {"mean": mean, "voices": by_voice}
