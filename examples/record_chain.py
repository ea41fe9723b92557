"""Record a small load -> process -> train chain with the SDK, outside any launcher.

Run it inside a project (`lineage init` first), then look at what it recorded:

    lineage runs --table transactions --on today
    lineage show train:mean-threshold
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import lineage


def main() -> None:
    rng = random.Random(7)
    amounts = [round(rng.uniform(1, 500), 2) for _ in range(1000)]
    fraud = [int(a > 420 and rng.random() < 0.8) for a in amounts]

    with lineage.start_run("load", table="transactions") as load:
        load.log_table("data", pa.table({"amount": amounts, "fraud": fraud}))
        load.log_metric("rows", len(amounts))

    with lineage.start_run("process", logic="plain", upstream=["load:transactions"]) as process:
        data = process.input_table("data")
        scaled = pc.divide(data["amount"], pc.max(data["amount"]))
        process.log_param("scale", "max")
        process.log_table("features", data.append_column("scaled", scaled))

    with lineage.start_run(
        "train", algorithm="mean-threshold", upstream=["process:plain"]
    ) as train:
        features = train.input_table("features")
        threshold = pc.mean(features["scaled"]).as_py() * 1.6
        predicted = pc.greater(features["scaled"], threshold)
        accuracy = pc.mean(pc.equal(predicted, pc.cast(features["fraud"], pa.bool_()))).as_py()
        train.log_param("factor", 1.6)
        train.log_metric("accuracy", accuracy)
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "model.json"
            model.write_text(json.dumps({"threshold": threshold}))
            train.log_artifact(model)

    for run in (load, process, train):
        print(f"{run.info.short_id}  {run.info.label}")


if __name__ == "__main__":
    main()
