"""Masking the password of a catalog or store URL (lineage/urls.py)."""

from __future__ import annotations

from lineage.urls import mask_url


def test_mask_url_hides_passwords_in_every_place() -> None:
    assert mask_url("postgresql+psycopg://bob:p@ss/word@db:5432/x") == (
        "postgresql+psycopg://bob:***@db:5432/x"
    )
    assert mask_url("postgresql+psycopg://bob@db/x?sslmode=require&password=pw") == (
        "postgresql+psycopg://bob@db/x?sslmode=require&password=***"
    )
    assert mask_url("sqlite:////tmp/catalog.db") == "sqlite:////tmp/catalog.db"
