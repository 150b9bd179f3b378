"""The databases under the jobs: schemas created once by racing processes, a database failure
retried once then explained, and an unreachable server named with a fix (never a password)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy.exc import IntegrityError, OperationalError

from dlstudio import training
from dlstudio.cli import main
from dlstudio.database import infrastructure_error
from dlstudio.errors import DatabaseUnavailable, DataError, DLStudioError
from dlstudio.jobs import JobStatus, JobStore
from dlstudio.jobs.execute import execute_job
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.setup import configure_tracking
from tests.postgres import PostgresServer

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SPEC = parse_spec({"data": {"path": "churn.csv", "target": "churn"}}).model_dump(mode="json")
REFUSED = (
    'connection failed: connection to server at "10.1.2.3", port 5433 failed: Connection refused'
)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections (bound, never listening)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def lost_connection() -> MlflowException:
    """What MLflow raises when its database goes away: an OperationalError, wrapped."""
    try:
        raise OperationalError("SELECT 1", {}, psycopg.OperationalError(REFUSED))
    except OperationalError as exc:
        try:
            raise MlflowException(str(exc)) from exc
        except MlflowException as wrapped:
            return wrapped


def test_a_closed_port_is_named_by_the_cli_with_a_fix_and_no_password(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql+psycopg://ana:s3cret-pw@127.0.0.1:{closed_port}/dlstudio"
    monkeypatch.setenv("DLSTUDIO_DATABASE_URL", url)

    for command in (["jobs", "list"], ["worker", "--max-jobs", "1"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.startswith(
            f"error: Could not open the database at 127.0.0.1:{closed_port}, database dlstudio "
            "(DLSTUDIO_DATABASE_URL): connection failed"
        ), err
        assert "How to fix: check that the database server is running" in err
        assert "s3cret" not in err and "Traceback" not in err


def test_a_wrong_password_says_to_check_it(postgres_server: PostgresServer) -> None:
    if postgres_server.tcp_port is None:
        pytest.skip("needs the private test server (passwords are checked over TCP)")
    url = f"postgresql+psycopg://ana:wrong-pw@127.0.0.1:{postgres_server.tcp_port}/postgres"

    with pytest.raises(DatabaseUnavailable) as caught:
        JobStore(url)

    assert f"127.0.0.1:{postgres_server.tcp_port}, database postgres" in caught.value.message
    assert 'password authentication failed for user "ana"' in caught.value.message
    assert caught.value.fix == "check the user name and password in DLSTUDIO_DATABASE_URL"
    assert "wrong-pw" not in str(caught.value)


def test_mlflow_on_a_closed_port_fails_fast_naming_its_variable(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://ana:pw@127.0.0.1:{closed_port}/mlflow"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)

    with pytest.raises(DatabaseUnavailable, match=r"\(MLFLOW_TRACKING_URI\): connection failed"):
        configure_tracking(get_settings())  # at once: MLflow alone retries for about 100 s


def test_workers_starting_together_on_a_fresh_database_all_succeed(
    postgres_databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given fresh databases for the jobs and for MLflow, and 4 workers (threads, each with
    # connections of its own) about to start
    jobs_url, mlflow_url = postgres_databases(), postgres_databases()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_url)
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def start_worker() -> None:
        start.wait()
        try:
            JobStore(jobs_url)
            configure_tracking(get_settings())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    # when each creates both schemas at the same moment
    workers = [threading.Thread(target=start_worker) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    # then none failed, and the schemas work
    assert failures == []
    assert JobStore(jobs_url).submit(SPEC, submitted_by="ana", now=T0).state is JobStatus.QUEUED
    assert MlflowClient(mlflow_url).get_experiment("0").name == "Default"


def test_one_database_for_jobs_and_mlflow_is_refused_with_a_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql+psycopg://ana@db.example:5432/dlstudio"
    monkeypatch.setenv("DLSTUDIO_DATABASE_URL", url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)

    with pytest.raises(DLStudioError, match="MLflow has a table named jobs"):
        configure_tracking(get_settings())


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (OperationalError("SELECT 1", {}, psycopg.OperationalError(REFUSED)), True),
        (psycopg.OperationalError(REFUSED), True),
        (IntegrityError("CREATE TABLE experiments (...)", {}, Exception("pg_type")), True),
        (IntegrityError("INSERT INTO jobs ...", {}, Exception("duplicate key")), False),
        (ValueError("a bug"), False),
    ],
    ids=["sqlalchemy", "psycopg", "schema-race", "data-integrity", "bug"],
)
def test_database_failures_are_told_apart_from_bugs(error: Exception, retried: bool) -> None:
    assert (infrastructure_error(error) is not None) == retried


def test_a_wrapped_failure_counts_but_one_explained_to_the_user_does_not() -> None:
    assert isinstance(infrastructure_error(lost_connection()), OperationalError)
    try:
        raise DataError("The query failed on your database.") from lost_connection()
    except DataError as explained:
        assert infrastructure_error(explained) is None


def test_a_database_failure_requeues_the_job_once_then_fails_it_with_a_fix(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given MLflow on a server whose connection is lost under every attempt of the job
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql+psycopg://ana:s3cret@10.1.2.3:5433/ml")
    store = JobStore.from_settings(get_settings())
    job_id = store.submit(SPEC, submitted_by="ana", now=T0).id

    def lose_connection(*args, **kwargs):
        raise lost_connection()

    monkeypatch.setattr(training, "run", lose_connection)

    # when its first attempt fails: queued again, saying why in plain words
    store.claim_next("w1", now=T0)
    execute_job(store, job_id, get_settings())
    assert store.get(job_id).state is JobStatus.QUEUED
    assert store.events(job_id)[-1].message == (
        f"the database was briefly unavailable (OperationalError: {REFUSED}); "
        "queued again, attempt 2 of 2"
    )

    # and when its second fails too: failed, naming the servers to check
    store.claim_next("w2", now=T0)
    execute_job(store, job_id, get_settings())
    failed = store.get(job_id)
    assert failed.state is JobStatus.FAILED
    assert failed.error_message.startswith(
        "The job stopped because a database could not be used, on attempt 2 of 2"
    )
    assert "MLflow's store at 10.1.2.3:5433, database ml (MLFLOW_TRACKING_URI)" in (
        failed.error_message
    )
    assert "the job store at the SQLite file" in failed.error_message
    assert "s3cret" not in failed.error_message + (failed.log_tail or "")
