"""Passwords stay out of specs, stored rows, pages and command lines; the home is private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dlstudio.credentials import literal_password, mask_url, resolve_url
from dlstudio.errors import SpecError
from dlstudio.jobs import JobStore
from dlstudio.settings import get_settings
from dlstudio.spec import dump_spec, flatten_spec, parse_spec
from dlstudio.tracking.mlflow_ui import mlflow_ui_command
from dlstudio.tracking.setup import configure_tracking

LEAKY = "postgresql+psycopg://analyst:s3cret@db.example.com/sales"
BY_REFERENCE = "postgresql+psycopg://analyst:${SALES_DB_PASSWORD}@db.example.com/sales"


def query_spec(url: str) -> dict:
    return {"data": {"query": "SELECT * FROM customers", "database_url": url,
                     "target": "churn"}}  # fmt: skip


def test_a_spec_with_a_password_in_its_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(SpecError) as refused:
        parse_spec(query_spec(LEAKY))

    message = str(refused.value)
    assert "s3cret" not in message
    assert "data.database_url holds a password" in message
    assert "analyst:***@db.example.com" in message
    assert "${DB_PASSWORD}" in message  # how to write it instead


def test_a_password_by_reference_is_stored_as_the_reference() -> None:
    spec = parse_spec(query_spec(BY_REFERENCE))

    assert "${SALES_DB_PASSWORD}" in dump_spec(spec)
    assert flatten_spec(spec)["data.database_url"] == BY_REFERENCE


def test_a_reference_resolves_from_the_environment_first_then_secrets_toml(
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('SALES_DB_PASSWORD = "from toml: @/"\n')

    from_toml = resolve_url(BY_REFERENCE, environ={}, secret_files=(secrets,))
    from_env = resolve_url(BY_REFERENCE, environ={"SALES_DB_PASSWORD": "env"},
                           secret_files=(secrets,))  # fmt: skip

    assert from_toml == "postgresql+psycopg://analyst:from%20toml%3A%20%40%2F@db.example.com/sales"
    assert from_env == "postgresql+psycopg://analyst:env@db.example.com/sales"


def test_a_reference_to_a_missing_secret_says_where_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"\$\{SALES_DB_PASSWORD\}, which is not set") as missing:
        resolve_url(BY_REFERENCE, environ={}, secret_files=(tmp_path / "none.toml",))
    assert "secrets.toml" in missing.value.fix


@pytest.mark.parametrize(
    ("shown", "masked"),
    [
        (LEAKY, "postgresql+psycopg://analyst:***@db.example.com/sales"),
        (BY_REFERENCE, BY_REFERENCE),
        ("sqlite:////home/me/shop.db", "sqlite:////home/me/shop.db"),
        ("the query on mysql://u:p@ss:w@rd@h/db failed", "the query on mysql://u:***@h/db failed"),
        ("http://user:pw@mlflow.internal:5000", "http://user:***@mlflow.internal:5000"),
    ],
)
def test_mask_url_hides_passwords_and_keeps_the_rest(shown: str, masked: str) -> None:
    assert mask_url(shown) == masked
    assert literal_password(shown) == (shown != masked)


def test_the_mlflow_ui_gets_the_store_url_through_its_environment_not_its_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", LEAKY)

    command = mlflow_ui_command(get_settings(), 5123, env={})

    assert not any("s3cret" in part for part in command.argv)  # what `ps` shows
    assert command.env["MLFLOW_BACKEND_STORE_URI"] == LEAKY
    assert command.argv[command.argv.index("--host") + 1] == "127.0.0.1"
    assert command.argv[command.argv.index("--app-name") + 1] == "basic-auth"
    # no MLflow job runner beside it: 8 idle processes the studio never uses (issue 22)
    assert command.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    password = command.password_file
    assert len(password.read_text()) >= 20
    assert stat.S_IMODE(password.stat().st_mode) == 0o600


def test_the_home_folder_and_its_databases_are_private(mlflow_home: Path) -> None:
    isolated_home = mlflow_home
    isolated_home.chmod(0o755)  # as earlier versions left it
    (isolated_home / "mlflow.db").chmod(0o644)
    settings = get_settings()
    JobStore.from_settings(settings)
    configure_tracking(settings)

    assert stat.S_IMODE(settings.home_dir.stat().st_mode) == 0o700
    for name in ("dlstudio.db", "mlflow.db"):
        assert stat.S_IMODE((isolated_home / name).stat().st_mode) == 0o600, name


def test_a_new_home_is_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLSTUDIO_HOME", str(tmp_path / "fresh" / "home"))
    old = os.umask(0o022)
    try:
        home = get_settings().home_dir
    finally:
        os.umask(old)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
