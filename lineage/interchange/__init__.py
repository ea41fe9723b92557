"""Interchange with other tools: OpenLineage events out, MLflow history in.

``openlineage`` builds and streams run events; ``export`` writes them to a file or POSTs them
through ``endpoint``; ``spool`` emits them as runs start and end, keeping them in a local spool
while the endpoint is down; ``mlflow`` imports an MLflow tracking store, which
``mlflow_source`` reads with MLflow's own client. Library verbs: they use the catalog and the
store, never the CLI.
"""
