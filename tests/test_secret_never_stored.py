"""A SQL source's password, given by reference, is used to connect and is then found nowhere:
not in the job row or its events and log, MLflow's params, tags and artifacts, the home folder's
files (databases included) or what the run printed (issue 21, secrets kept secret)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy import create_engine

from dlstudio.jobs import JobStore
from dlstudio.jobs.execute import execute_job
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from tests.conftest import make_customers
from tests.postgres import PostgresServer

SECRET = "Pa55-" + uuid.uuid4().hex  # a value that cannot occur by chance


def test_a_password_by_reference_is_used_and_then_found_nowhere(
    mlflow_home: Path, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    if postgres_server.tcp_port is None:
        pytest.skip("needs the private test server (passwords are checked over TCP)")
    # given a sales database that asks for a password, and the password in the environment
    database = postgres_server.create_database()
    role = f"sales_{uuid.uuid4().hex[:8]}"
    postgres_server.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'")
    admin = create_engine(database)
    make_customers(120).to_sql("customers", admin, index=False)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"GRANT SELECT ON customers TO {role}")
    admin.dispose()
    monkeypatch.setenv("SALES_DB_PASSWORD", SECRET)
    name = database.rsplit("/", 1)[1].split("?", 1)[0]
    url = f"postgresql+psycopg://{role}:${{SALES_DB_PASSWORD}}@127.0.0.1:{postgres_server.tcp_port}/{name}"
    spec = parse_spec({
        "data": {"query": "SELECT * FROM customers", "database_url": url, "target": "churn"},
        "training": {"preset": "fast", "epochs": 1},
        "tracking": {"register_as": "sales"},
    }).model_dump(mode="json")  # fmt: skip

    # when a worker runs the job
    caplog.set_level(logging.DEBUG)
    settings = get_settings()
    store = JobStore.from_settings(settings)
    job = store.submit(spec, submitted_by="ann", now=utc_now())
    assert store.claim_next("test-worker", now=utc_now()).id == job.id
    execute_job(store, job.id, settings)

    # then it trained on the query's rows ...
    done = store.get(job.id)
    assert done.state.value == "succeeded", done.error_message
    client = MlflowClient(settings.mlflow_tracking_uri)
    run = client.get_run(done.mlflow_run_id)
    assert run.data.params["data.database_url"] == url  # the reference, as written
    assert run.data.tags["dlstudio.user"] == "ann"
    # ... and the password is nowhere
    places = {
        "job row": str(done),  # its spec, messages and metrics
        "job events": " ".join(e.message for e in store.events(job.id)),
        "job log": done.log_tail or "",
        "MLflow params and tags": str(run.data.params) + str(run.data.tags),
        "log records": caplog.text,
        "printed": "".join(capfd.readouterr()),
    }
    for path in mlflow_home.rglob("*"):  # databases, artifacts, datasets, checkpoints
        if path.is_file():
            places[str(path.relative_to(mlflow_home))] = path.read_bytes().decode("latin-1")
    assert len(places) > 10  # the run's artifacts are among them
    holding_the_reference = [w for w, text in places.items() if "${SALES_DB_PASSWORD}" in text]
    assert "job row" in holding_the_reference and "mlflow.db" in holding_the_reference
    assert [where for where, text in places.items() if SECRET in text] == []
