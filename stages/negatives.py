"""Stage `negatives`: sounds that are not a spoken digit, to learn and to test the refusal "no digit heard".

    python -m stages.negatives data/negatives

Writes `data/negatives/{train,test}/KIND/*.wav` (KIND: noise, tone, dc, chirp, clicks, music, word), seeded,
and `data/negatives/negatives.json`: the clips per split and kind, the words of each split and the engines'
versions. The test split's signals have their own seeds, and its words are other words said by other voices.
"""

import json
from pathlib import Path

from tqdm import tqdm

from digits import replacing_dir, stage
from digits.negatives import describe, word_voices, write_signals, write_words
from digits.params import NegativesParams, SynthParams

CARD = "negatives.json"


def run(p: NegativesParams, synth: SynthParams, negatives: Path) -> None:
    """Write the non-digits of `p` (words in the voices `synth` would draw) into the folder `negatives`."""
    with replacing_dir(negatives) as partial:
        signals = write_signals(p, synth.sample_rate, partial)
        voices = sum(len(v) for v in word_voices(p, synth).values())
        words = sum(tqdm(write_words(p, synth, partial), total=voices, desc="words", unit="voice", mininterval=1))
        card = describe(p, partial)
        (partial / CARD).write_text(json.dumps(card, indent=2) + "\n")
    tests = sum(card["clips"]["test"].values())
    print(f"{signals} signals and {words} words by {voices} voices ({tests} for the open-set test) -> {negatives}/")


if __name__ == "__main__":
    stage.main(run)
