"""Stage `synth`: a corpus of synthetic speakers saying every digit, from the TTS engines Debian ships.

    python -m stages.synth data/synth

Writes `data/synth/NAME/{digit}_{NAME}_{take}.wav` (the audiomnist layout) and `data/synth/corpus.json`:
the engines' versions and every voice's settings, which ingest copies into `metrics/data_report.json`.
"""

import json
from pathlib import Path

from tqdm import tqdm

from digits import replacing_dir, stage
from digits.layouts import CARD
from digits.params import SynthParams
from digits.synth import describe, synthesise


def run(p: SynthParams, synth: Path) -> None:
    """Render the voices of `p` into the folder `synth` (replaced only once complete)."""
    voices = []
    with replacing_dir(synth) as partial:
        total = sum(p.voices.values())
        for voice, _ in tqdm(synthesise(p, partial), total=total, desc="synth", unit="voice", mininterval=1):
            voices.append(voice)
        card = describe(p, voices)
        (partial / CARD).write_text(json.dumps(card, indent=2) + "\n")
    engines = ", ".join(f"{engine} {version}" for engine, version in card["engines"].items())
    print(f"{card['clips']} clips by {len(voices)} synthetic voices ({engines or 'no engine'}) -> {synth}/")


if __name__ == "__main__":
    stage.main(run)
