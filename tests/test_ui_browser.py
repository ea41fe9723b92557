"""`lineage ui` in a real headless Chromium: the example pipeline, every page, the links from
runs to a run to its graph to a comparison, and not one console error; on the local catalog
and on the PostgreSQL + S3 servers the suite starts.

One browser for the session (Debian's chromium driven by its chromedriver through selenium).
Screenshots go to the test's folder; with LINEAGE_UI_SCREENSHOTS=DIR (docs/ui for the docs)
the local run also copies them there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import run_cli
from tests.ui_server import UIServer

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHAIN = ["--table", "transactions", "--logic", "plain", "--algorithm", "LogisticRegression"]
PASSWORD = "hunter2-never-shown"


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the whole session, with a fresh profile, logging its console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: install Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,860",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(params=["local", "postgresql+s3"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """Where the catalog and store live; the PostgreSQL URL carries a password to hide."""
    if request.param == "local":
        return {}
    bucket = request.getfixturevalue("s3_bucket")
    url = sa.engine.make_url(request.getfixturevalue("postgres_url"))
    # The test server trusts loopback, so the password is never checked, only carried.
    with_password = url.set(password=PASSWORD).render_as_string(hide_password=False)
    return {"LINEAGE_CATALOG_URL": with_password, "LINEAGE_STORE_URL": f"{bucket}/lineage"}


class Visit:
    """Load pages in the browser, check each for console errors, keep screenshots."""

    def __init__(self, driver: Any, base: str, shots: Path) -> None:
        self.driver = driver
        self.base = base
        self.shots = shots
        self.sources: list[str] = []
        driver.get_log("browser")  # drop whatever an earlier test left

    def settle(self, name: str | None = None, status: int = 200) -> str:
        """Check the page now shown: no console error; save a screenshot under ``name``.

        A page served with a 4xx ``status`` logs that status, and nothing else may be logged.
        """
        errors = [
            e
            for e in self.driver.get_log("browser")
            if e["level"] in ("SEVERE", "ERROR")
            and not (status != 200 and f"status of {status}" in e["message"])
        ]
        assert errors == [], f"{self.driver.current_url}: {errors}"
        source = self.driver.page_source
        assert "Traceback" not in source
        self.sources.append(source)
        if name:
            self.driver.save_screenshot(str(self.shots / f"{name}.png"))
        return source

    def open(self, path: str, name: str | None = None, status: int = 200) -> str:
        self.driver.get(self.base + path)
        return self.settle(name, status)


def test_every_page_in_a_real_browser(
    browser: Any, backend: dict[str, str], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    env = backend
    root = tmp_path / "demo"
    run_cli("init", "--example", str(root), env=env, check=True)
    first = run_cli("resolve", *CHAIN, "--json", cwd=root, env=env, check=True)
    chain = {x["step"]: x["run_id"] for x in json.loads(first.stdout)["chain"]}
    run_cli("resolve", *CHAIN, "-P", "C=0.05", cwd=root, env=env, check=True)
    # Data versions: the same data fetched again, then new rows in the source and a third load.
    run_cli("run", "load", "--table", "transactions", cwd=root, env=env, check=True)
    subprocess.run(
        [sys.executable, "steps/source.py", "--add", "150"], cwd=root, env=env, check=True
    )
    run_cli("run", "load", "--table", "transactions", cwd=root, env=env, check=True)
    shots = tmp_path / "shots"
    shots.mkdir()
    server = UIServer(root, env)
    try:
        visit = Visit(browser, server.url, shots)

        # Runs -> a run -> its graph -> a comparison, by following links and forms.
        visit.open("/runs", "runs")
        rows = browser.find_elements(By.CSS_SELECTOR, "table.runs tbody tr")
        assert len(rows) == 6  # 3 loads, process, train, and train again with C=0.05
        browser.find_element(By.LINK_TEXT, chain["train"][:8]).click()
        text = visit.settle("run")
        # New data arrived since: resolve would launch process and train again.
        assert "Not reused by resolve today" in text and "model.pkl" in text
        assert browser.find_elements(By.CSS_SELECTOR, "table.preview-table")  # features rows
        browser.find_element(By.LINK_TEXT, "lineage graph").click()
        visit.settle()
        nodes = browser.find_elements(By.CSS_SELECTOR, "svg.lineage-graph g.node")
        assert len(nodes) >= 6
        # ui.js ran: it added the zoom buttons; a zoom changes the drawing's viewBox.
        svg = browser.find_element(By.CSS_SELECTOR, "svg.lineage-graph")

        def view_box() -> str:
            return browser.execute_script("return arguments[0].getAttribute('viewBox')", svg)

        before = view_box()
        browser.find_element(By.XPATH, "//div[@class='graph-tools']/button[text()='+']").click()
        assert view_box() != before
        browser.find_element(By.CSS_SELECTOR, f'a[href="/runs/{chain["load"]}"]').click()
        assert "data versions of load:transactions" in visit.settle()
        browser.find_element(By.LINK_TEXT, "Runs").click()
        visit.settle()
        for box in browser.find_elements(By.CSS_SELECTOR, "table.runs tbody tr"):
            if "train" in box.text:
                box.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
        browser.find_element(By.XPATH, "//button[text()='Compare selected runs']").click()
        text = visit.settle("compare")
        assert browser.find_elements(By.CSS_SELECTOR, "tr.changed")  # C differs
        assert browser.find_elements(By.CSS_SELECTOR, "svg.parallel polyline.run-line")

        # Sorting a table by a click (ui.js): the time column, oldest first.
        visit.open("/runs")
        browser.find_element(
            By.XPATH, "//table[contains(@class,'runs')]//th[text()='time']"
        ).click()
        times = [
            td.text for td in browser.find_elements(By.CSS_SELECTOR, "table.runs td.mono + td")
        ]
        cells = browser.find_elements(By.CSS_SELECTOR, "table.runs tbody tr td:nth-child(6)")
        shown = [c.text for c in cells]
        assert shown == sorted(shown), times

        # Every other page, straight from its address.
        versions = visit.open("/versions/load/transactions", "versions")
        assert "version 2" in versions and "identical to the retrieval before" in versions
        visit.open(f"/graph/{chain['load']}?depth=3", "graph")
        assert chain["load"][:8] in visit.open(f"/audit/{chain['train']}", "audit")
        assert chain["train"][:8] in visit.open(f"/impact/{chain['load']}", "impact")
        plan = visit.open(
            "/plan?table=transactions&logic=scaled&algorithm=LogisticRegression", "plan"
        )
        assert "reuse" in plan and "launch" in plan
        assert "not an artifact hash" in visit.open("/artifacts/nonsense", status=400)
        for source in visit.sources:
            assert PASSWORD not in source
        for path in ("/runs.json", f"/runs/{chain['train']}.json", "/plan.json"):
            assert PASSWORD not in server.get(path).text
    finally:
        server.stop()
    target = os.environ.get("LINEAGE_UI_SCREENSHOTS")
    if target and not backend:
        Path(target).mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, Path(target) / shot.name)
