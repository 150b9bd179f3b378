"""Sign-in and roles in the dashboard under AppTest (through app.py): the password form, the
lock, the idle timeout, and each role's buttons, refused on the server when forced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.auth import Accounts, AuditTrail, Role, User
from dlstudio.data.store import DatasetStore
from dlstudio.jobs import JobStore
from dlstudio.settings import get_settings
from tests.auth.conftest import cheap_hashes  # noqa: F401 - autouse: argon2 at test speed
from tests.conftest import make_customers

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PASSWORD = "correct horse battery"
ROOT = User("root", Role.ADMIN, signed_in=False)


@pytest.fixture
def signed_in_home(mlflow_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Sign-in on, with an admin, an analyst and a viewer, and one dataset (the analyst's)."""
    monkeypatch.setenv("DLSTUDIO_SIGN_IN", "accounts")
    accounts = Accounts.from_settings(get_settings())
    now = datetime.now(UTC)
    for name, role in (("boss", "admin"), ("ann", "analyst"), ("vic", "viewer")):
        accounts.add(name, role, PASSWORD, by=ROOT, now=now)
    DatasetStore.default().save(
        "customers", make_customers(120).to_csv(index=False).encode(), filename="c.csv", by="ann"
    )
    return mlflow_home


def sign_in(name: str, password: str = PASSWORD) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.text_input(key="access_name").set_value(name)
    app.text_input(key="access_password").set_value(password)
    app.button(key="access_submit").click().run()
    assert not app.exception, app.exception
    return app


def trail() -> list[tuple[str, str, str, str]]:
    entries = AuditTrail.from_settings(get_settings()).entries()
    return [(e.who, e.action, e.target, e.outcome) for e in entries]


def test_nobody_sees_a_page_before_signing_in_and_a_wrong_password_is_refused(
    signed_in_home: Path,
) -> None:
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert app.title[0].value == "Sign in to dlstudio"
    assert not app.dataframe and not app.button(key="access_submit").disabled
    app = sign_in("ann", "not the password")
    assert "Unknown user name or wrong password." in app.error[0].value
    assert app.title[0].value == "Sign in to dlstudio"
    assert trail()[0] == ("ann", "sign in failed", "user ann", "refused")


def test_with_no_accounts_the_form_says_how_to_add_the_first_admin(
    mlflow_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLSTUDIO_SIGN_IN", "accounts")
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert "dlstudio users add NAME --role admin --password-stdin" in app.error[0].value


def test_a_viewer_sees_train_disabled_with_the_reason(signed_in_home: Path) -> None:
    app = sign_in("vic")
    assert any("Signed in as vic (viewer)" in c.value for c in app.sidebar.caption)
    app.switch_page("pages/train.py")
    app.run()
    train = app.button(key="train_submit")
    assert train.disabled and train.help == "vic is a viewer: viewers cannot train models."


def test_a_click_is_checked_on_the_server_when_it_arrives(signed_in_home: Path) -> None:
    # given ann's Train page drawn while she was an analyst
    app = sign_in("ann")
    app.switch_page("pages/train.py")
    app.run()
    train = app.button(key="train_submit")
    assert not train.disabled
    # when an admin makes her a viewer, and the click from the old page arrives
    Accounts.from_settings(get_settings()).set_role(
        "ann", "viewer", by=User("boss", Role.ADMIN), now=datetime.now(UTC)
    )
    train.click().run()
    # then nothing is queued: the page is drawn for a viewer before the click is read
    assert JobStore.from_settings(get_settings()).list_jobs() == []
    assert app.button(key="train_submit").help == "ann is a viewer: viewers cannot train models."


def test_an_analyst_trains_as_themselves_but_cannot_delete_someone_elses_data(
    signed_in_home: Path,
) -> None:
    app = sign_in("ann")
    app.switch_page("pages/train.py")
    app.run()
    app.button(key="train_submit").click().run()
    (job,) = JobStore.from_settings(get_settings()).list_jobs()
    assert job.submitted_by == "ann"
    assert trail()[0][:2] + trail()[0][3:] == ("ann", "train", "done")
    assert trail()[0][2].startswith("dataset customers@")

    DatasetStore.default().save("boss_data", b"a,b\n1,2\n3,4\n", filename="b.csv", by="boss")
    app.switch_page("pages/data.py")
    app.run()
    app.selectbox(key="data_dataset").set_value("boss_data").run()
    assert app.button(key="data_delete").disabled
    assert app.button(key="data_delete").help == (
        "ann is an analyst: analysts may delete datasets of their own only, and this belongs to boss."
    )


def test_a_delete_is_checked_again_when_the_click_arrives(signed_in_home: Path) -> None:
    # given ann's own dataset, its Delete button enabled and confirmed
    app = sign_in("ann")
    app.switch_page("pages/data.py")
    app.run()
    app.checkbox(key="data_confirm_customers").check().run()
    delete = app.button(key="data_delete")
    assert not delete.disabled
    # when she is made a viewer before her click arrives
    Accounts.from_settings(get_settings()).set_role(
        "ann", "viewer", by=User("boss", Role.ADMIN), now=datetime.now(UTC)
    )
    delete.click().run()
    # then the dataset stays, and the refusal is shown and recorded
    assert DatasetStore.default().list_names() == ["customers"]
    assert "viewers cannot delete datasets" in app.error[0].value
    assert trail()[0] == ("ann", "delete", "dataset customers", "refused")


def test_an_admin_reads_the_audit_page_and_downloads_it(signed_in_home: Path) -> None:
    sign_in("ann", "wrong password!")
    app = sign_in("boss")
    app.switch_page("pages/audit.py")
    app.run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert {"sign in", "sign in failed", "users", "read audit"} <= set(table["action"])
    assert app.get("download_button")[0].proto.label == "Download the audit trail (CSV)"


def test_the_audit_page_refuses_an_analyst_who_opens_it_directly(signed_in_home: Path) -> None:
    app = sign_in("ann")
    assert "pages/audit.py" not in str(app._tree)
    app = AppTest.from_file(str(Path(APP).parent / "pages" / "audit.py"), default_timeout=60)
    app.session_state["dlstudio_app_ran"] = True
    app.session_state["dlstudio_user"] = User("ann", Role.ANALYST)
    app.session_state["dlstudio_seen_at"] = datetime.now(UTC)
    app.run()
    assert "analysts cannot read the audit trail" in app.error[0].value
    assert not app.dataframe
    assert trail()[0] == ("ann", "read audit", "audit trail", "refused")


def test_an_idle_session_ends_and_the_next_click_asks_to_sign_in_again(
    signed_in_home: Path,
) -> None:
    app = sign_in("ann")
    app.switch_page("pages/train.py")
    app.run()
    app.session_state["dlstudio_seen_at"] = datetime.now(UTC) - timedelta(minutes=61)
    app.button(key="train_submit").click().run()
    assert JobStore.from_settings(get_settings()).list_jobs() == []  # the click did nothing
    assert not app.button  # nor is the page drawn: sign in first
    assert "Sign in first" in app.warning[0].value
    entry = AuditTrail.from_settings(get_settings()).entries()[0]
    assert (entry.who, entry.action, entry.detail) == (
        "ann", "sign out", "the session ended after 60 idle minutes"
    )
    app = AppTest.from_file(APP, default_timeout=60)  # the start page, as a reload shows it
    app.session_state["dlstudio_session_ended"] = entry.detail
    app.run()
    assert "The session ended after 60 idle minutes; sign in again." in app.info[0].value





def test_sso_asks_for_the_company_sign_in_then_gives_a_first_comer_the_sso_role(
    mlflow_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLSTUDIO_SIGN_IN", "sso")
    monkeypatch.setenv("DLSTUDIO_SSO_ROLE", "analyst")
    app = AppTest.from_file(APP, default_timeout=60)
    app.user = {"is_logged_in": False}
    app.run()
    assert app.button(key="access_sso").label == "Sign in with your company account"
    app = AppTest.from_file(APP, default_timeout=60)
    app.user = {"is_logged_in": True, "email": "eve@example.com", "name": "Eve"}
    app.run()
    assert not app.exception, app.exception
    shown = [c.value.replace("\\", "") for c in app.sidebar.caption]  # Markdown escapes
    assert "Signed in as eve@example.com (analyst)" in shown
    account = Accounts.from_settings(get_settings()).get("eve@example.com")
    assert account.role is Role.ANALYST and not account.has_password
    assert trail()[:2] == [
        ("eve@example.com", "sign in", "user eve@example.com", "done"),
        ("eve@example.com", "users", "user eve@example.com", "done"),
    ]
