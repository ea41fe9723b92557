"""Process: turn the loaded table into a feature matrix, `plain` or `scaled`."""

from __future__ import annotations

import argparse
import sys

import pyarrow as pa
import pyarrow.compute as pc

import lineage

FEATURES = ["amount", "hour", "distance", "merchant_risk"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logic", required=True, choices=["plain", "scaled"])
    args = parser.parse_args()
    with lineage.start_run() as run:
        data = run.input_table("data")
        columns = {"id": data["id"], "fraud": data["fraud"]}
        for name in FEATURES:
            column = pc.cast(data[name], pa.float64())
            if args.logic == "scaled":
                mean = pc.mean(column)
                spread = pc.stddev(column)
                column = pc.divide(pc.subtract(column, mean), spread)
            columns[name] = column
        features = pa.table(columns)
        run.log_table("features", features)
        run.log_metric("rows", features.num_rows)
    sys.stdout.write(f"process: {features.num_rows} rows of {args.logic} features\n")


if __name__ == "__main__":
    main()
