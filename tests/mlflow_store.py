"""An MLflow tracking store made by MLflow itself, as the typed-identity seed used MLflow.

Three experiments, ``load``, ``processing`` and ``model``, two days of data (2019-02-09 and
2019-02-10). The runs carry their identity in params the seed's way: a load run its ``table``
and ``retrieval_time`` (Unix seconds); a processing run those of the load it used (the time as
a date, "the newest run that day") and its own ``logic`` and ``processed_time``; a model run
the processing run's ``logic`` and ``processed_time`` and its own ``algorithm`` and
``trained_time``. A processing run logs a processor (``processor.pkl``) and the dataset it
read (its source is the load run's artifact), a model run a ``model/`` folder and a metric
history. A nested model run is linked by its ``mlflow.parentRunId`` only. Plus the bad input
an import must survive: a run without its time param, a run whose time cannot be read, a run
still running, and a failed model run.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DAY1 = datetime(2019, 2, 9, tzinfo=UTC)
DAY2 = datetime(2019, 2, 10, tzinfo=UTC)
STEPS = [
    "load=load:table:retrieval_time",
    "processing=process:logic:processed_time",
    "model=train:algorithm:trained_time",
]


@dataclass
class SeedStore:
    """Where the store is and the MLflow run ids the tests look for."""

    uri: str
    root: Path
    runs: dict[str, str] = field(default_factory=dict)  # name -> MLflow run id
    files: dict[str, bytes] = field(default_factory=dict)  # "name/path" -> content


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _unix(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def build(root: Path) -> SeedStore:
    """Make the store under ``root`` with MLflow's client; return what is in it."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow.data
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, InputTag

    root.mkdir(parents=True, exist_ok=True)
    seed = SeedStore(uri=f"sqlite:///{root / 'mlflow.db'}", root=root)
    client = MlflowClient(tracking_uri=seed.uri)
    experiments = {
        name: client.create_experiment(name, artifact_location=(root / "artifacts" / name).as_uri())
        for name in ("load", "processing", "model")
    }
    work = root / "work"
    work.mkdir()

    def run(
        name: str,
        experiment: str,
        start: datetime,
        params: dict[str, str],
        tags: dict[str, str] | None = None,
    ) -> str:
        created = client.create_run(
            experiments[experiment],
            start_time=_ms(start),
            tags={
                "mlflow.user": "seed",
                "mlflow.source.git.commit": "0a1b2c3d" * 5,
                **(tags or {}),
            },
            run_name=name,
        )
        run_id = created.info.run_id
        for key, value in params.items():
            client.log_param(run_id, key, value)
        seed.runs[name] = run_id
        return run_id

    def artifact(
        name: str, run_id: str, path: str, content: bytes, folder: str | None = None
    ) -> None:
        local = work / name / path
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(content)
        seed.files[f"{name}/{folder + '/' if folder else ''}{path}"] = content
        client.log_artifact(run_id, str(local), folder)

    def end(run_id: str, at: datetime, status: str = "FINISHED") -> None:
        client.set_terminated(run_id, status, end_time=_ms(at))

    for day, rows in ((DAY1, "1,2\n3,4\n"), (DAY2, "1,2\n3,4\n5,6\n")):
        tag = day.strftime("%d")
        loaded = day.replace(hour=8)
        load = run(
            f"load-{tag}",
            "load",
            loaded,
            {"table": "transactions", "retrieval_time": _unix(loaded)},
        )
        artifact(f"load-{tag}", load, "train.csv", rows.encode())
        artifact(f"load-{tag}", load, "test.csv", b"7,8\n")
        client.log_metric(load, "rows", float(rows.count("\n")), timestamp=_ms(loaded), step=0)
        end(load, loaded.replace(minute=1))

        processed = day.replace(hour=9)
        process = run(
            f"processing-{tag}",
            "processing",
            processed,
            {
                "table": "transactions",
                "retrieval_time": day.date().isoformat(),  # a date: the newest load that day
                "logic": "plain",
                "processed_time": _unix(processed),
            },
        )
        frame = pd.read_csv(io.StringIO(rows), names=["a", "b"])
        source = f"{client.get_run(load).info.artifact_uri}/train.csv"
        dataset = mlflow.data.from_pandas(frame, source=source, name="transactions")
        client.log_inputs(
            process,
            [
                DatasetInput(
                    dataset._to_mlflow_entity(),
                    tags=[InputTag("mlflow.data.context", "training")],
                )
            ],
        )
        artifact(f"processing-{tag}", process, "processor.pkl", pickle.dumps({"fill": "mean"}))
        end(process, processed.replace(minute=2))

        trained = day.replace(hour=10)
        model = run(
            f"model-{tag}",
            "model",
            trained,
            {
                "logic": "plain",
                "processed_time": _unix(processed),
                "algorithm": "LogisticRegression",
                "trained_time": _unix(trained),
                "C": "10",
            },
        )
        for step, score in enumerate((0.70, 0.78, 0.81 if tag == "09" else 0.84)):
            client.log_metric(model, "test score", score, timestamp=_ms(trained) + step, step=step)
        artifact(f"model-{tag}", model, "MLmodel", b"flavors: {}\n", "model")
        artifact(f"model-{tag}", model, "model.pkl", pickle.dumps([tag, 0.5]), "model")
        end(model, trained.replace(minute=5))

    # A nested run linked by MLflow's parent, not by params: a model tuned inside processing.
    nested = run(
        "model-nested",
        "model",
        DAY2.replace(hour=10, minute=30),
        {"logic": "plain", "algorithm": "SVC", "trained_time": _unix(DAY2.replace(hour=10))},
        {"mlflow.parentRunId": seed.runs["processing-10"]},
    )
    end(nested, DAY2.replace(hour=10, minute=40))

    # What an import must report or leave, while importing the rest.
    lacking = run(
        "processing-no-time",
        "processing",
        DAY2.replace(hour=11),
        {"table": "transactions", "retrieval_time": "2019-02-10", "logic": "scaled"},
    )
    end(lacking, DAY2.replace(hour=11, minute=1))
    unreadable = run(
        "load-bad-time",
        "load",
        DAY2.replace(hour=12),
        {"table": "customers", "retrieval_time": "last tuesday"},
    )
    end(unreadable, DAY2.replace(hour=12, minute=1))
    run("load-running", "load", DAY2.replace(hour=13), {"table": "orders", "retrieval_time": "0"})
    failed = run(
        "model-failed",
        "model",
        DAY2.replace(hour=14),
        {
            "logic": "plain",
            "processed_time": "2019-02-10",
            "algorithm": "RandomForest",
            "trained_time": _unix(DAY2.replace(hour=14)),
        },
    )
    end(failed, DAY2.replace(hour=14, minute=3), "FAILED")
    return seed
