"""Stage `whisper_crossval`: leave-one-speaker-out of the Whisper recogniser, beside its zero-shot scores.

    python -m stages.whisper_crossval data/whisper_features data/whisper_augmented models/whisper/tiny.en
        metrics/whisper/crossval.json data/crossval/whisper.parquet

Each held-out speaker (as `crossval.speakers` chooses them) is scored by a head trained on every other clip
the head learns from and their noisy copies; its combination weight comes from the other real speakers (each
scored by a head trained without it), never its own; that fold's recogniser also reads `crossval.strings`
digit strings of the speaker (as `digits predict --sequence`) and the speaker's clips in noise (`crossval.noise`,
the noise MFCC's folds hear): each held-out clip's log-probabilities go to a table for stage `fusion`. With
`crossval.cross_corpus`, heads trained on the real corpora alone and on the synthetic voices alone are scored on
every clip of the other side.
"""

from pathlib import Path

from digits import replacing_file, stage, write_json
from digits.fusion import accuracy_in_noise
from digits.params import CrossvalParams, PredictParams, WhisperFeaturesParams, WhisperHeadParams
from digits.scoring import held_out_speakers, strings_summary
from digits.segment import PauseParams
from digits.whisper import Whisper
from digits.whisper_folds import fold_readings
from digits.whisper_head import copies_of, crossval, head_rows
from digits.whisper_head import cross_corpus as cross_corpus_scores
from digits.whisper_table import load


def run(
    p: WhisperHeadParams, cv: CrossvalParams, predict: PredictParams, whisper: WhisperFeaturesParams,
    features: Path, augmented: Path, model: Path, scores_json: Path, log_proba_file: Path,
) -> None:  # fmt: skip
    """Write the leave-one-speaker-out scores of the Whisper recogniser on `features` (Whisper's files in `model`)
    to `scores_json`, each held-out clip's log-probabilities to `log_proba_file`."""
    keys, states, scores, whisper_params = load(features)
    copies = copies_of(*load(augmented)[:2])
    rows = head_rows(keys, p.training_only_corpora)
    learnt = keys[rows].reset_index(drop=True)
    held_out = held_out_speakers(keys, cv.speakers)
    voices = held_out_speakers(learnt, "all")  # each fold's weight is chosen on the other voices' out-of-fold scores
    found = crossval(learnt, states[rows], scores[rows], held_out, p.c, p.weights, copies, voices)
    reader = Whisper(model, whisper_params, whisper.threads)
    pauses = PauseParams(**predict.sequence.model_dump())
    strings, log_proba = fold_readings(
        learnt, states[rows], scores[rows], found["folds"], p.c, copies, reader, whisper.batch_size,
        (cv.strings, pauses) if cv.strings.count else None, cv.noise,
    )  # fmt: skip
    for speaker, read in strings.items():
        found["folds"][speaker]["strings"] = read
    if strings:
        found["strings"] = strings_summary(found["folds"])
    found["noise"] = accuracy_in_noise(log_proba)
    if cv.cross_corpus:  # with the weight the shipped model would choose on these folds
        found["cross_corpus"] = cross_corpus_scores(keys, states, scores, p.c, found["weight"], copies)
    write_json(scores_json, found)
    with replacing_file(log_proba_file) as partial:
        log_proba.to_parquet(partial, index=False)
    print(
        f"leave-one-speaker-out: {found['mean_accuracy']:.4f} (zero-shot {found['mean_zero_shot']:.4f}, "
        f"head alone {found['mean_head']:.4f})"
    )
    if found["noise"]:
        print("in noise: " + ", ".join(f"{kind} {accuracy:.4f}" for kind, accuracy in found["noise"].items()))


if __name__ == "__main__":
    stage.main(run)
