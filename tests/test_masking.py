"""No password reaches output: every password-like part is masked, and a catalog or store URL
that does not read as a URL is never echoed (issue 15, item 6).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lineage.urls import NOT_SHOWN, mask_url, shown_url
from tests.helpers import invoke

SECRET = "s3cret-pw"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            f"postgresql+psycopg://ana:{SECRET}@db:5432/lineage",
            "postgresql+psycopg://ana:***@db:5432/lineage",
        ),
        # A password holding "@", "/" and a blank runs to the URL's last "@".
        (
            f"postgresql://ana:{SECRET}@x/y z@db/lineage",
            "postgresql://ana:***@db/lineage",
        ),
        (f"postgresql://ana:my {SECRET}@db/lineage", "postgresql://ana:***@db/lineage"),
        # The one-slash typo and no scheme at all.
        (f"postgresql:/ana:{SECRET}@db/lineage", "postgresql:/ana:***@db/lineage"),
        (f"ana:{SECRET}@db/lineage", "ana:***@db/lineage"),
        # Query parameters and libpq keyword strings.
        (
            f"postgresql://ana@db/lineage?sslpassword={SECRET}&sslmode=require",
            "postgresql://ana@db/lineage?sslpassword=***&sslmode=require",
        ),
        (f"postgresql://db/lineage?password={SECRET}", "postgresql://db/lineage?password=***"),
        (f"host=db user=ana password={SECRET} dbname=x", "host=db user=ana password=*** dbname=x"),
        (f"host=db password='my {SECRET}' dbname=x", "host=db password=*** dbname=x"),
        (f"s3://bucket/prefix?secret={SECRET}", "s3://bucket/prefix?secret=***"),
        # Two URLs in one message: each masked, the text between kept.
        (
            f"from postgresql://a:{SECRET}@h1/x to mysql://b:{SECRET}@h2/y failed",
            "from postgresql://a:***@h1/x to mysql://b:***@h2/y failed",
        ),
        # Nothing secret: left as it is.
        ("s3://bucket/runs@2026/objects", "s3://bucket/runs@2026/objects"),
        (
            "sqlite:////tmp/project/.lineage/catalog.db",
            "sqlite:////tmp/project/.lineage/catalog.db",
        ),
        ("postgresql://ana@127.0.0.1:5432/lineage", "postgresql://ana@127.0.0.1:5432/lineage"),
    ],
)
def test_mask_url_hides_every_password_like_part(text: str, shown: str) -> None:
    assert mask_url(text) == shown
    assert SECRET not in mask_url(text)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql:/ana:{SECRET}@db/lineage",
        f"ana:{SECRET}@db/lineage",
        f"host=db password={SECRET}",
        f"postgresql ://ana:{SECRET}@db/lineage",
    ],
)
def test_a_url_that_does_not_read_as_one_is_not_shown(url: str) -> None:
    assert shown_url(url) == NOT_SHOWN


def test_urls_and_paths_are_shown_masked() -> None:
    assert shown_url("/srv/lineage/objects") == "/srv/lineage/objects"
    assert shown_url("catalog.db") == "catalog.db"
    assert shown_url(f"s3://k:{SECRET}@bucket/p") == "s3://k:***@bucket/p"


BAD_CATALOGS = [
    f"postgresql+psycopg://ana:{SECRET}@127.0.0.1:9/lineage",
    f"postgresql+psycopg://ana:my {SECRET}@127.0.0.1:9/lineage",
    f"postgresql+psycopg://ana@127.0.0.1:9/lineage?sslpassword={SECRET}",
    f"postgresql+psycopg:/ana:{SECRET}@127.0.0.1:9/lineage",
    f"ana:{SECRET}@127.0.0.1:9/lineage",
    f"host=127.0.0.1 port=9 password={SECRET}",
    f"host=127.0.0.1 port=9 password='my {SECRET}'",
]


@pytest.mark.parametrize("url", BAD_CATALOGS)
@pytest.mark.parametrize(
    "args", [["runs"], ["show", "load"], ["info"], ["info", "--json"], ["db", "status"]]
)
def test_no_command_prints_a_catalog_password(
    project: Path, monkeypatch: pytest.MonkeyPatch, url: str, args: list[str]
) -> None:
    for given in (["--catalog", url], []):
        if not given:
            monkeypatch.setenv("LINEAGE_CATALOG_URL", url)
        result = invoke(*given, *args)
        assert result.exit_code == 1, result.output
        assert SECRET not in result.output
        assert "Traceback" not in result.output


def test_a_catalog_in_lineage_toml_is_masked_too(project: Path) -> None:
    (project / "lineage.toml").write_text(
        f'[catalog]\nurl = "postgresql+psycopg:/ana:{SECRET}@127.0.0.1:9/lineage"\n'
    )
    for args in (["runs"], ["info"], ["info", "--json"]):
        result = invoke(*args)
        assert result.exit_code == 1
        assert SECRET not in result.output


def test_init_masks_the_store_url(tmp_path: Path) -> None:
    store = f"memory://ana:{SECRET}@box/objects"
    result = invoke("--store", store, "init", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "memory://ana:***@box/objects" in result.stdout
    as_json = invoke("--store", store, "init", str(tmp_path / "p"), "--json")
    assert SECRET not in as_json.output
    assert json.loads(as_json.stdout)["store"] == "memory://ana:***@box/objects"


def test_a_store_that_does_not_read_as_a_url_is_not_shown(project: Path) -> None:
    result = invoke("--store", f"s3:/ana:{SECRET}@bucket/x", "info")
    assert SECRET not in result.output
    assert NOT_SHOWN in result.stdout


def test_init_on_s3_masks_credentials_in_its_warning(
    tmp_path: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # s3fs reads no credentials from the URL: its "bucket" is then "ana:s3cret-pw@bucket".
    result = invoke("--store", f"s3://ana:{SECRET}@missing-bucket/x", "init", str(tmp_path / "p"))
    assert SECRET not in result.output
