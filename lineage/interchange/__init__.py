"""Interchange with other tools: OpenLineage events out, MLflow history in.

``openlineage`` builds and streams run events, ``endpoint`` POSTs them to an HTTP endpoint,
``spool`` emits them as runs start and end (keeping them in a local spool while the endpoint is
down), and ``mlflow`` imports an MLflow tracking store. Library verbs: they use the catalog and
the store, never the CLI.
"""
