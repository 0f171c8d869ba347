"""Stage `zeroshot`: the bar to beat, Whisper's zero-shot digit scores with no training at all.

    python -m stages.zeroshot data/whisper_features metrics/whisper/zeroshot.json

Scored on what the trained models are scored on: the test split, each speaker of the scored corpora (the
held-out speakers of leave-one-speaker-out), and every clip of each corpus (the training-only ones too).
"""

import json
from pathlib import Path

from digits import stage, write_json
from digits.whisper_head import accuracy, accuracy_by
from digits.whisper_table import load


def run(features: Path, zeroshot: Path) -> None:
    """Write the zero-shot accuracies of the Whisper feature table `features` to `zeroshot`."""
    keys, _, scores, _ = load(features)
    labels = keys["label"].to_numpy()
    test = (keys["split"] == "test").to_numpy()
    scored = ~keys["training_only"].to_numpy(bool)
    speakers = sorted(keys["speaker"][scored].unique())
    by_speaker = accuracy_by(keys["speaker"], scores, labels, speakers)
    corpora = accuracy_by(keys["corpus"], scores, labels, sorted(keys["corpus"].unique()))
    found = {
        "test_split": accuracy(scores[test], labels[test]) if test.any() else None,
        "test_clips": int(test.sum()),
        "mean_speaker": round(sum(by_speaker.values()) / len(by_speaker), 6),
        "speakers": by_speaker,
        "corpora": corpora,
    }
    write_json(zeroshot, found)
    print(json.dumps(found))


if __name__ == "__main__":
    stage.main(run)
