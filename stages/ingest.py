"""Stage `ingest`: every file of every corpus in `ingest.sources` becomes a manifest row or a reject row with its
reason; the clips are split into train/val/test (training-only corpora: all train).

python -m stages.ingest data/manifest.parquet data/rejects.parquet metrics/data_report.json
"""

import json
from pathlib import Path

from digits import DigitsError, replacing_file, stage
from digits.dataset import report, scan, with_splits
from digits.params import IngestParams


def run(p: IngestParams, manifest: Path, rejects: Path, data_report: Path) -> None:
    """Scan the corpora of `p.sources` into the Parquet files `manifest` and `rejects`, and their counts into
    `data_report`."""
    accepted, refused, found = scan(p.sources, (p.min_seconds, p.max_seconds))
    scored = [corpus for corpus, source in p.sources.items() if source.use == "all"]
    if not accepted["corpus"].isin(scored).any():
        folders = ", ".join(p.sources[corpus].data_dir for corpus in scored)
        raise DigitsError(f"no usable recordings in {folders}: {sum(found.values())} files found, none accepted")
    accepted = with_splits(accepted, p)
    summary = report(accepted, refused, found, p.sources)
    for table, dest in ((accepted, manifest), (refused, rejects)):
        with replacing_file(dest) as partial:
            table.to_parquet(partial, index=False)
    with replacing_file(data_report) as partial:
        partial.write_text(json.dumps(summary, indent=2) + "\n")
    for corpus, entry in summary["corpora"].items():
        print(
            f"{corpus} ({entry['use']}): {entry['accepted']} clips accepted, {entry['rejected']} rejected, "
            f"{entry['speakers']} speakers; splits {entry['splits']}"
        )
    for row in refused.head(10).itertuples():
        print(f"  rejected {row.path}: {row.reason}")


if __name__ == "__main__":
    stage.main(run)
