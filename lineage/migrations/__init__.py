"""Alembic migrations of the catalog schema; see lineage/schema.py for how they are run.

To change the schema: edit lineage/models.py, add ``versions/NNNN_what.py`` whose
``down_revision`` is the current head, set ``schema.HEAD`` and ``models.SCHEMA_VERSION``, and
let ``tests/test_schema.py`` check that the upgraded schema equals the models.
"""
