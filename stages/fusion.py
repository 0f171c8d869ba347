"""Stage `fusion`: the shipped recogniser's weight on the MFCC model, chosen on voices neither model heard.

    python -m stages.fusion data/crossval/mfcc.parquet data/crossval/whisper.parquet models/whisper/fusion.json
        metrics/fusion.json data/crossval/shipped.parquet

Both crossval stages wrote each held-out clip's log-probabilities, clean and in the same noise. The weight of
`fusion.weights` whose sum (Whisper's log-probabilities plus the weight times MFCC's) has the best mean accuracy
in noise, at a clean accuracy at most `fusion.max_clean_loss` below Whisper's, goes to `fusion.json` (`digits
predict` adds the MFCC model at it). The metrics hold the
leave-one-speaker-out of that choice (each voice at the weight chosen on the others) beside MFCC and Whisper
alone, by condition; `shipped.parquet` each clip's log-probabilities so fused (for stage `new_voices`).
"""

from pathlib import Path

import pandas as pd

from digits import replacing_file, stage, write_json
from digits.fusion import fused_table, joined, loso
from digits.params import FusionParams


def run(p: FusionParams, mfcc: Path, whisper: Path, fusion_json: Path, metrics_json: Path, shipped: Path) -> None:
    """Choose the fusion weight on the crossval tables `mfcc` and `whisper`; write it, its scores and the clips'
    out-of-fold fused log-probabilities (`shipped`)."""
    keys, mfcc_log_proba, whisper_log_proba = joined(pd.read_parquet(mfcc), pd.read_parquet(whisper))
    found = loso(keys, mfcc_log_proba, whisper_log_proba, p.weights, p.max_clean_loss)
    chosen_on = {"voices": sorted(set(keys["speaker"])), "conditions": list(found["mean"]["fused"]), "rows": len(keys)}
    write_json(fusion_json, {"weight": found["weight"], "chosen_on": chosen_on})
    write_json(metrics_json, found)
    fold_weights = {voice: fold["weight"] for voice, fold in found["folds"].items()}
    with replacing_file(shipped) as tmp:
        fused_table(keys, mfcc_log_proba, whisper_log_proba, fold_weights).to_parquet(tmp, index=False)
    print(f"weight {found['weight']:g}, chosen on {len(chosen_on['voices'])} voices; leave-one-speaker-out:")
    for name, by_condition in found["mean"].items():
        print(f"  {name}: " + ", ".join(f"{c} {accuracy:.4f}" for c, accuracy in by_condition.items()))


if __name__ == "__main__":
    stage.main(run)
