"""Sign-in and roles in a real headless Chromium (issue 21): `streamlit run` and a real worker
with DLSTUDIO_SIGN_IN=accounts and three users made with `dlstudio users add`, as an admin
sets a studio up. The viewer cannot start a run; the analyst uploads (a file whose name and
column are HTML that would run script) and trains; the admin promotes, then reads each of
those actions, under the right user, in the audit trail it downloads.

Screenshots go to ``artifacts/e2e/roles-*.png``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_customers
from tests.e2e.servers import dashboard_and_worker
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, MINUTE, SHOTS, upload_file

PASSWORD = "correct horse battery"
HOSTILE = "<img src=x onerror=window.hacked=1>"  # a column name
FILE = "<svg onload=x>"  # a file name (short: the uploader shortens long names)


@pytest.fixture(scope="module")
def studio(tmp_path_factory, migrated_mlflow_db) -> Iterator[tuple[str, dict[str, str]]]:
    """The dashboard (sign-in on) and one worker on a fresh home; the URL and environment."""
    home = tmp_path_factory.mktemp("roles-home")
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    env = {**os.environ, "DLSTUDIO_HOME": str(home), "DLSTUDIO_START_WORKER": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    for name, role in (("boss", "admin"), ("ann", "analyst"), ("vic", "viewer")):
        subprocess.run(
            [sys.executable, "-m", "dlstudio", "users", "add", name, "--role", role,
             "--password-stdin"],
            input=f"{PASSWORD}\n", text=True, env=env, check=True, capture_output=True,
        )  # fmt: skip
    env["DLSTUDIO_SIGN_IN"] = "accounts"
    with dashboard_and_worker(home, env) as url:
        yield url, env


def sign_in(page, url: str, name: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_text("Sign in to dlstudio")).to_be_visible()
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text(re.compile(rf"Signed in as {name} \("))).to_be_visible()


def go(page, title: str) -> None:
    """Open a page from the sidebar: a reload (page.goto) starts a new session, which signs out."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()


def sign_out(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Sign in to dlstudio")).to_be_visible()


def test_viewer_analyst_and_admin_each_do_what_their_role_allows(studio, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, env = studio
    expect.set_options(timeout=MINUTE)
    table = tmp_path / f"{FILE}.csv"
    make_customers(160).rename(columns={"region": HOSTILE}).to_csv(table, index=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(MINUTE)

        def shot(name: str) -> None:
            page.screenshot(path=str(SHOTS / f"roles-{name}.png"), full_page=True)

        try:
            # 1. nobody: the sign-in form is all there is; a wrong password is refused
            page.goto(f"{url}/train")  # a deep link, signed out
            expect(page.get_by_text("Sign in to dlstudio")).to_be_visible()
            expect(page.get_by_text("Operate")).to_have_count(0)
            page.get_by_role("textbox", name="User name").fill("vic")
            page.get_by_role("textbox", name="Password").fill("not the password")
            page.get_by_role("button", name="Sign in", exact=True).click()
            expect(page.get_by_text("Unknown user name or wrong password.")).to_be_visible()

            # 2. the analyst uploads a file named and headed with HTML, and trains
            sign_in(page, url, "ann")
            go(page, "Data")
            upload_file(page, ".st-key-data_upload", table)
            page.locator("[class*='st-key-data_name_'] input").fill("customers")
            page.get_by_role("button", name="Save", exact=True).click()
            expect(page.get_by_text("Saved 'customers'")).to_be_visible()
            expect(page.get_by_text(HOSTILE).first).to_be_attached()  # shown as text
            assert page.evaluate("window.hacked") is None  # and never run as HTML
            go(page, "Train")
            expect(page.get_by_text("4. Check and submit")).to_be_visible()
            page.get_by_role("radio", name=re.compile("^fast")).check(force=True)
            page.get_by_role("textbox", name="Save the model as").fill("churn")
            page.get_by_role("textbox", name="Save the model as").press("Enter")
            page.get_by_role("button", name="Train", exact=True).click()
            expect(page.get_by_text("is queued")).to_be_visible()
            page.get_by_role("link", name="Watch progress").click()
            expect(page.get_by_text("Finished.")).to_be_visible(timeout=4 * MINUTE)
            shot("2-analyst")
            sign_out(page)

            # 3. the viewer sees Train's button disabled, with the reason
            sign_in(page, url, "vic")
            go(page, "Data")
            expect(page.get_by_text("vic is a viewer: viewers cannot upload data.")).to_be_visible()
            go(page, "Train")
            expect(page.get_by_text("vic is a viewer: viewers cannot train models.")).to_be_visible()
            train = page.get_by_role("button", name="Train", exact=True)
            expect(train).to_be_disabled()
            shot("1-viewer")
            # a click forced past it (the button enabled in the DOM) sends nothing: Streamlit's
            # page ignores disabled widgets; the server's own check is tested under AppTest
            train.evaluate("button => { button.disabled = false; button.click(); }")
            sign_out(page)
            jobs = subprocess.run([sys.executable, "-m", "dlstudio", "jobs", "list", "--json"],
                                  env=env, check=True, capture_output=True, text=True).stdout
            assert len(json.loads(jobs)) == 1  # the analyst's job only

            # 4. the admin: a second version (threshold, from the CLI), then promotes version 1
            subprocess.run(
                [sys.executable, "-m", "dlstudio", "models", "threshold", "churn",
                 "--threshold", "0.3"],
                env={**env, "DLSTUDIO_USER": "boss"}, check=True, capture_output=True,
            )  # fmt: skip
            sign_in(page, url, "boss")
            go(page, "Schedules")
            page.get_by_role("button", name="Make version 1 the champion").click()
            page.get_by_role("button", name="Yes, promote it").click()
            expect(page.get_by_text(re.compile(r"^Champion: version 1\."))).to_be_visible()

            # 5. ... and reads it all in the audit trail
            go(page, "Audit")
            expect(page.get_by_role("heading", name="Audit")).to_be_visible()
            shot("3-admin-audit")
            with page.expect_download() as download:
                page.get_by_role("button", name="Download the audit trail (CSV)").click()
            saved = tmp_path / "audit.csv"
            download.value.save_as(saved)
        finally:
            browser.close()
    with saved.open(newline="") as handle:
        rows = {(r["who"], r["action"], r["outcome"]): r for r in csv.DictReader(handle)}
    assert ("vic", "sign in failed", "refused") in rows
    assert not any(who == "vic" and action == "train" for who, action, _ in rows)
    assert ("ann", "upload", "done") in rows
    assert rows[("ann", "train", "done")]["target"].startswith("dataset customers@")
    assert rows[("boss", "threshold", "done")]["target"] == "model churn version 2"
    assert rows[("boss", "promote", "done")]["target"] == "model churn version 1"
    assert ("boss", "read audit", "done") in rows
