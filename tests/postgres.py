"""A real PostgreSQL server for the tests (and bench/queue_databases.py), started from the
Debian binaries under /usr/lib/postgresql/*/bin, or the one ``DLSTUDIO_TEST_POSTGRES_URL``
names (a URL whose user may create databases).

The private server listens on a unix socket in a temp folder (trust, no password) and on
127.0.0.1 at a free port (passwords required), with durability off: it lives one session.
Without binaries the PostgreSQL tests are skipped, or fail when ``DLSTUDIO_REQUIRE_POSTGRES=1``
(CI). Each test gets a fresh database of its own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

SKIP_REASON = (
    "no PostgreSQL to test against: install Debian's postgresql package (it provides "
    "/usr/lib/postgresql/*/bin/initdb) or set DLSTUDIO_TEST_POSTGRES_URL"
)
# durability off: the server lives one test session
FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"


@dataclass(frozen=True)
class PostgresServer:
    """A server the tests may create databases on; ``root`` is set when we started it."""

    admin_url: str
    root: Path | None = None
    bin_dir: Path | None = None
    tcp_port: int | None = None

    def url(self, database: str) -> str:
        """The admin URL pointed at ``database``."""
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def execute(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE DATABASE refuses one)."""
        engine = create_engine(self.admin_url, poolclass=NullPool)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def create_database(self, *, name: str | None = None, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); its URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        if template is None:
            self.execute(f'CREATE DATABASE "{name}"')
        else:  # a copy needs the template to itself: drop the connections cached on it
            self.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{template}' AND pid <> pg_backend_pid()",
                f'CREATE DATABASE "{name}" TEMPLATE "{template}"',
            )
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL bin folder, or None."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    numbered = [p for p in found if p.parent.name.isdigit()]
    return max(numbered, key=lambda p: int(p.parent.name)) if numbered else None


def start_server(bin_dir: Path) -> PostgresServer:
    """initdb into a temp folder and start a private server (as user postgres when we are root:
    initdb refuses root); stop it with :func:`stop_server`."""
    root = Path(tempfile.mkdtemp(prefix="dlstudio-pg-"))
    if os.getuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    _as_owner(bin_dir / "initdb", "-D", str(root / "data"), "-U", "postgres", "-E", "UTF8",
              "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
              cwd=root)  # fmt: skip
    options = (f"-c listen_addresses=127.0.0.1 -c port={port} "
               f"-c unix_socket_directories={root} {FAST}")  # fmt: skip
    _as_owner(bin_dir / "pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"),
              "-o", options, "-w", "-t", "60", "start", cwd=root)  # fmt: skip
    admin = f"postgresql+psycopg://postgres@/postgres?host={root}&port={port}"
    return PostgresServer(admin_url=admin, root=root, bin_dir=bin_dir, tcp_port=port)


def stop_server(server: PostgresServer) -> None:
    """Stop a server :func:`start_server` started and delete its files."""
    if server.root is None or server.bin_dir is None:
        return
    try:
        _as_owner(server.bin_dir / "pg_ctl", "-D", str(server.root / "data"), "-m", "immediate",
                  "-w", "stop", cwd=server.root)  # fmt: skip
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


def _as_owner(program: Path, *args: str, cwd: Path) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    done = subprocess.run([*prefix, str(program), *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        output = f"{done.stdout}{done.stderr}"
        raise RuntimeError(f"{program.name} failed ({done.returncode}):\n{output}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def init_mlflow_schema(url: str) -> None:
    """Create MLflow's tables in the database at ``url`` (as a first run would)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url, registry_uri=url)
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server per session: ``DLSTUDIO_TEST_POSTGRES_URL``'s, else a private one."""
    external = os.environ.get("DLSTUDIO_TEST_POSTGRES_URL")
    if external:
        yield PostgresServer(admin_url=external)
        return
    bin_dir = postgres_bin()
    if bin_dir is None:
        if os.environ.get("DLSTUDIO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"DLSTUDIO_REQUIRE_POSTGRES=1 but {SKIP_REASON}")
        pytest.skip(SKIP_REASON)
    server = start_server(bin_dir)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def postgres_databases(postgres_server: PostgresServer) -> Iterator[Callable[..., str]]:
    """Make fresh databases (``template=`` to copy one), dropped after the test."""
    made: list[str] = []

    def new(*, template: str | None = None) -> str:
        made.append(postgres_server.create_database(template=template))
        return made[-1]

    yield new
    for url in made:
        postgres_server.drop_database(url)


@pytest.fixture
def postgres_url(postgres_databases: Callable[..., str]) -> str:
    """The URL of a fresh, empty PostgreSQL database."""
    return postgres_databases()


@pytest.fixture(scope="session")
def migrated_mlflow_postgres(postgres_server: PostgresServer) -> Iterator[str]:
    """A database with MLflow's schema, made once per session and copied by each test."""
    name = f"mlflow_template_{uuid.uuid4().hex[:8]}"
    init_mlflow_schema(postgres_server.create_database(name=name))
    yield name
    postgres_server.drop_database(postgres_server.url(name))


@pytest.fixture
def mlflow_postgres(
    postgres_databases: Callable[..., str], migrated_mlflow_postgres: str,
    monkeypatch: pytest.MonkeyPatch,
) -> str:  # fmt: skip
    """MLFLOW_TRACKING_URI pointed at a fresh PostgreSQL database with MLflow's schema."""
    url = postgres_databases(template=migrated_mlflow_postgres)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    return url


@pytest.fixture
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The job database of a test: SQLite under the home (the default), or a fresh PostgreSQL
    database in DLSTUDIO_DATABASE_URL with ``ON_BOTH_DATABASES``."""
    if getattr(request, "param", "sqlite") == "sqlite":
        from dlstudio.settings import get_settings

        return get_settings().job_database_url
    url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("DLSTUDIO_DATABASE_URL", url)
    return url


ON_BOTH_DATABASES = pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
