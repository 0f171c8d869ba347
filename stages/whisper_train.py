"""Stage `whisper_train`: the shipped Whisper recogniser, then its scores on the test split beside zero-shot's.

    python -m stages.whisper_train data/whisper_features data/whisper_augmented models/whisper/head
        metrics/whisper/eval.json

The head is trained on every clip it learns from outside the test split and on their noisy copies; its combination
weight is the one of `whisper_head.weights` that does best on the training speakers' out-of-fold scores
(each speaker scored by a head trained without it), never on the test split.
"""

from pathlib import Path

from digits import stage, write_json
from digits.params import WhisperHeadParams
from digits.scoring import held_out_speakers, scores
from digits.whisper_head import accuracy, choose_weight, combine, copies_of, fit_with, head_rows, out_of_fold, save
from digits.whisper_table import load


def run(p: WhisperHeadParams, features: Path, augmented: Path, model: Path, eval_json: Path) -> None:
    """Train the Whisper recogniser on `features` into the folder `model`; its test-split scores to `eval_json`."""
    keys, states, digit_scores, whisper_params = load(features)
    copies = copies_of(*load(augmented)[:2])
    labels, speakers = keys["label"].to_numpy(), keys["speaker"].to_numpy()
    test = (keys["split"] == "test").to_numpy()
    train = ~test & head_rows(keys, p.training_only_corpora)
    held_out = held_out_speakers(keys[train], "all")
    oof = out_of_fold(states[train], labels[train], speakers[train], held_out, p.c, copies)
    scored = ~keys["training_only"].to_numpy(bool)[train]  # weights are chosen on the real voices only
    weight = choose_weight(digit_scores[train][scored], oof[scored], labels[train][scored], p.weights)
    head = fit_with(states[train], labels[train], p.c, copies, None)
    meta = {
        "whisper_params": whisper_params.to_dict(),
        "weight": weight,
        "c": p.c,
        "trained_on": int(train.sum()),
        "copies": len(copies.labels),
    }
    save(model, head, meta)
    combined = combine(digit_scores[test], head.log_proba(states[test]), weight)
    found = {
        **scores(labels[test], combined.argmax(axis=1)),
        "zero_shot_accuracy": accuracy(digit_scores[test], labels[test]),
        "head_accuracy": accuracy(head.log_proba(states[test]), labels[test]),
        "weight": weight,
    }
    write_json(eval_json, found)
    print(f"weight {weight}; test split: {found['accuracy']:.4f} (zero-shot {found['zero_shot_accuracy']:.4f})")


if __name__ == "__main__":
    stage.main(run)
