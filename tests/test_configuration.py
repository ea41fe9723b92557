"""``lineage info`` (lineage/configuration.py): the configuration in effect, what answers, and
never a password."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
import sqlalchemy as sa

from lineage import api as info
from lineage.models import SCHEMA_VERSION
from tests import servers
from tests.helpers import invoke, run_cli

SECRET = "s3cret-Pw_91"


def with_password(url: str) -> str:
    """The same PostgreSQL URL, now carrying a password (the test server trusts loopback)."""
    return sa.engine.make_url(url).set(password=SECRET).render_as_string(hide_password=False)


def test_info_of_a_local_project(project: Path) -> None:
    result = invoke("info")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        f"project    {project}",
        f"catalog    sqlite:///{project}/.lineage/catalog.db",
        f"           reachable, schema revision {SCHEMA_VERSION:04d}, 0 runs",
        f"store      {project}/.lineage/objects",
        "           reachable",
    ]
    assert f"lineage    {metadata.version('lineage-catalog')}" in lines
    assert f"sqlalchemy {metadata.version('sqlalchemy')}" in lines
    assert f"s3fs       {metadata.version('s3fs')}" in lines
    document = json.loads(invoke("info", "--json").stdout)
    assert document["project_root"] == str(project)
    assert document["catalog"] == {
        "url": f"sqlite:///{project}/.lineage/catalog.db",
        "reachable": True,
        "error": None,
        "schema_version": SCHEMA_VERSION,
        "runs": 0,
    }
    assert document["store"]["reachable"] is True
    assert set(document["versions"]) == {
        "lineage", "python", "sqlalchemy", "sqlmodel", "pyarrow", "fsspec", "s3fs", "psycopg"
    }  # fmt: skip


def test_info_outside_a_project_says_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("info")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "project    (none here: run `lineage init`)"
    assert "unreachable: no catalog at sqlite:///" in result.stdout
    assert "run `lineage init`" in result.stdout


def test_postgresql_password_is_masked_when_reachable(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = with_password(postgres_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINEAGE_CATALOG_URL", url)
    created = invoke("init", ".")
    assert created.exit_code == 0 and SECRET not in created.output
    human = invoke("info")
    as_json = invoke("info", "--json")
    for result in (human, as_json):
        assert SECRET not in result.output
    assert human.exit_code == 0, human.output
    masked = url.replace(SECRET, "***")
    assert f"catalog    {masked}" in human.stdout
    assert f"reachable, schema revision {SCHEMA_VERSION:04d}, 0 runs" in human.stdout
    assert json.loads(as_json.stdout)["catalog"]["url"] == masked


def test_postgresql_password_is_masked_when_unreachable(postgres_url: str, tmp_path: Path) -> None:
    dead = sa.engine.make_url(with_password(postgres_url)).set(port=servers.free_port())
    missing_db = sa.engine.make_url(with_password(postgres_url)).set(database="no_such_db")
    for url in (dead, missing_db):
        text = url.render_as_string(hide_password=False)
        for args in (["info"], ["runs"], ["show", "abcd"]):
            result = invoke("--catalog", text, *args)
            assert SECRET not in result.output, args
            assert result.exit_code == 1, (args, result.output)
        # The real executable, as a user runs it:
        done = run_cli("--catalog", text, "info", "--json", cwd=tmp_path)
        assert done.returncode == 1 and SECRET not in done.stdout + done.stderr
        info_json = json.loads(done.stdout)
        assert info_json["catalog"]["reachable"] is False
        assert info_json["catalog"]["url"] == text.replace(SECRET, "***")
    errors = run_cli("--catalog", dead.render_as_string(False), "runs", cwd=tmp_path).stderr
    assert errors.startswith("Error: cannot read catalog postgresql+psycopg://postgres:***@")
    assert "Connection refused" in errors and errors.count("\n") == 1


def test_info_of_an_s3_store(
    s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    api_init = invoke("init", ".")
    assert api_init.exit_code == 0, api_init.output
    found = info.info(store=s3_bucket + "/team")
    assert found.store.to_dict() == {"url": s3_bucket + "/team", "reachable": True, "error": None}
    missing = info.info(store="s3://no-such-bucket/team")
    assert missing.store.reachable is False
    assert missing.store.error == "bucket 'no-such-bucket' does not exist: create it"
    result = invoke("--store", "s3://no-such-bucket/team", "info")
    assert result.exit_code == 1
    assert "unreachable: bucket 'no-such-bucket' does not exist" in result.stdout
