""" "No digit heard": the detector's answer for a clip, its threshold and its error rates on an open set.

The detector is a small classifier over the same model inputs as the recogniser, with the classes
`0` ... `9` and each kind of non-digit (`digits.negatives.KINDS`). A clip is refused when its
probability of being any digit (combined over its views, as `recognise` combines them) is under a
threshold chosen on the validation data; the reason names the kind of sound it most resembles.
Light: numpy only, so that `digits predict` stays quick to start.
"""

import numpy as np

DIGITS = [str(d) for d in range(10)]  # the detector's first ten classes
SIGNALS = ("noise", "tone", "dc", "chirp", "clicks", "music")  # its classes of sounds that are not speech
SOUNDS_LIKE = {
    "noise": "it sounds like noise",
    "tone": "it sounds like a steady tone or hum",
    "dc": "it holds a constant offset, no sound",
    "chirp": "it sounds like a sweeping tone",
    "clicks": "it sounds like clicks",
    "music": "it sounds like music",
    "word": "it sounds like a word that is not a digit",
}


def choose_threshold(digit_scores: np.ndarray, max_false_refusals: float) -> float:
    """The highest threshold that refuses (score below it) at most `max_false_refusals` of clips that are digits,
    given their `digit_scores`."""
    scores = np.sort(np.asarray(digit_scores, dtype=np.float64))
    allowed = int(np.floor(max_false_refusals * len(scores)))  # refusing scores[:allowed]
    return float(scores[allowed]) if len(scores) else 0.0


def signal_classes(labels: list[str]) -> list[int]:
    """The indices of the signal classes (`SIGNALS`) among the detector's class `labels`."""
    return [i for i, label in enumerate(labels) if label in SIGNALS]


def digit_score(probabilities: np.ndarray, signals: list[int]) -> np.ndarray:
    """How likely each clip is a digit at all, from the detector's class probabilities `(..., classes)`: the sum
    of its ten digit probabilities, or 0 where its most likely class is one of `signals` (class indices: sounds
    that are not speech, which on FSDD are never a digit's most likely class; [] turns that rule off)."""
    total = probabilities[..., : len(DIGITS)].sum(axis=-1)
    return np.where(np.isin(probabilities.argmax(axis=-1), signals), 0.0, total)


def sounds_like(probabilities: np.ndarray, labels: list[str]) -> list[str]:
    """The kind of non-digit each clip most resembles, from the detector's probabilities `(n, classes)`."""
    return [labels[len(DIGITS) + int(i)] for i in np.argmax(probabilities[:, len(DIGITS) :], axis=1)]


def refusal(probabilities: np.ndarray, labels: list[str], threshold: float, signals: list[int]) -> str | None:
    """Why no digit is heard in a clip (`it sounds like noise (digit score 0.012)`), or None to accept it, from the
    detector's class `probabilities` (`labels`; `signals`: see `digit_score`)."""
    score = float(digit_score(probabilities, signals))
    if score >= threshold:
        return None
    kind = sounds_like(probabilities[None], labels)[0]
    return f"{SOUNDS_LIKE.get(kind, kind)} (digit score {score:.3f})"


def error_rates(digit_scores: np.ndarray, other_scores: np.ndarray, threshold: float) -> dict:
    """False refusals (digits scored under `threshold`) and false accepts (non-digits at or above it), as counts
    and shares."""
    refused = int(np.sum(np.asarray(digit_scores) < threshold))
    accepted = int(np.sum(np.asarray(other_scores) >= threshold))
    return {
        "digits": len(digit_scores),
        "false_refusals": refused,
        "false_refusal_rate": round(refused / max(len(digit_scores), 1), 4),
        "non_digits": len(other_scores),
        "false_accepts": accepted,
        "false_accept_rate": round(accepted / max(len(other_scores), 1), 4),
    }
