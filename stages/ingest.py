"""Stage `ingest`: every file under `ingest.data_dir` becomes a manifest row or a reject row with its reason.

python -m stages.ingest data/manifest.parquet data/rejects.parquet metrics/data_report.json
"""

import json
from pathlib import Path

from digits import DigitsError, replacing_file, stage
from digits.dataset import report, scan, with_splits
from digits.params import IngestParams


def run(p: IngestParams, manifest: Path, rejects: Path, data_report: Path) -> None:
    """Scan `p.data_dir` into the Parquet files `manifest` and `rejects`, and its counts into `data_report`."""
    root = Path(p.data_dir)
    if not root.is_dir():
        raise DigitsError(f"data directory not found: {root}")
    accepted, refused, found = scan(root, p.layout, (p.min_seconds, p.max_seconds))
    if accepted.empty:
        raise DigitsError(f"no usable recordings in {root}: {len(refused)} files found, all rejected")
    accepted = with_splits(accepted, p)
    summary = report(accepted, refused, found)
    for table, dest in ((accepted, manifest), (refused, rejects)):
        with replacing_file(dest) as partial:
            table.to_parquet(partial, index=False)
    with replacing_file(data_report) as partial:
        partial.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{summary['accepted']} clips accepted, {summary['rejected']} rejected; splits {summary['splits']}")
    for row in refused.head(10).itertuples():
        print(f"  rejected {row.path}: {row.reason}")


if __name__ == "__main__":
    stage.main(run)
