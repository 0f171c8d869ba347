"""Stage `whisper_crossval`: leave-one-speaker-out of the Whisper recogniser, beside its zero-shot scores.

    python -m stages.whisper_crossval data/whisper_features data/whisper_augmented metrics/whisper/crossval.json

Each held-out speaker (as `crossval.speakers` chooses them) is scored by a head trained on every other clip
the head learns from and their noisy copies; its combination weight comes from the other held-out speakers. With
`crossval.cross_corpus`, heads trained on the real corpora alone and on the synthetic voices alone are scored
on every clip of the other side.
"""

import json
from pathlib import Path

from digits import stage
from digits.params import CrossvalParams, WhisperHeadParams
from digits.scoring import held_out_speakers
from digits.whisper_head import copies_of, crossval, head_rows
from digits.whisper_head import cross_corpus as cross_corpus_scores
from digits.whisper_table import load


def run(p: WhisperHeadParams, cv: CrossvalParams, features: Path, augmented: Path, scores_json: Path) -> None:
    """Write the leave-one-speaker-out scores of the Whisper recogniser on `features` to `scores_json`."""
    keys, states, scores, _ = load(features)
    copies = copies_of(*load(augmented)[:2])
    rows = head_rows(keys, p.training_only_corpora)
    held_out = held_out_speakers(keys, cv.speakers)
    found = crossval(keys[rows].reset_index(drop=True), states[rows], scores[rows], held_out, p.c, p.weights, copies)
    if cv.cross_corpus:  # with the weight the shipped model would choose on these folds
        found["cross_corpus"] = cross_corpus_scores(keys, states, scores, p.c, found["weight"], copies)
    scores_json.parent.mkdir(parents=True, exist_ok=True)
    scores_json.write_text(json.dumps(found, indent=2) + "\n")
    print(
        f"leave-one-speaker-out: {found['mean_accuracy']:.4f} (zero-shot {found['mean_zero_shot']:.4f}, "
        f"head alone {found['mean_head']:.4f})"
    )


if __name__ == "__main__":
    stage.main(run)
