"""Train: fit a classifier on the features, log its AUC and the model."""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

import lineage

FEATURES = ["amount", "hour", "distance", "merchant_risk"]


def make_model(algorithm: str, c: float):  # any scikit-learn classifier
    if algorithm == "LogisticRegression":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, max_iter=1000)
    if algorithm == "DecisionTree":
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(max_depth=5, random_state=0)
    sys.exit(f"train: unknown algorithm {algorithm!r} (use LogisticRegression or DecisionTree)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algorithm", required=True)
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args()
    from sklearn.metrics import roc_auc_score

    with lineage.start_run() as run:
        features = run.input_table("features")
        x = np.column_stack([features[name].to_numpy() for name in FEATURES])
        y = features["fraud"].to_numpy()
        test = features["id"].to_numpy() % 5 == 0  # a fixed split: same data, same score
        model = make_model(args.algorithm, args.C).fit(x[~test], y[~test])
        auc = float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))
        run.log_metric("auc", auc)
        run.log_metric("train_rows", int((~test).sum()))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pkl"
            path.write_bytes(pickle.dumps(model))
            run.log_artifact(path)
    sys.stdout.write(f"train: {args.algorithm} auc={auc:.4f}\n")


if __name__ == "__main__":
    main()
