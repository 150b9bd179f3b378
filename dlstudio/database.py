"""The databases dlstudio writes to (the job store, MLflow's backend store): schemas created
once under a lock, infrastructure failures told apart from bugs, and messages that name the
server to check, never its password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, MetaData, create_engine, make_url, text
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.pool import NullPool

from dlstudio.credentials import mask_url
from dlstudio.errors import DatabaseUnavailable, DLStudioError

# PostgreSQL advisory lock keys (any fixed bigint, the same in every process): processes that
# start together on a fresh database create each schema one after the other
PROJECT_SCHEMA_LOCK = 0x646C_7374_0001  # dlstudio's own tables (jobs, schedules, accounts...)
MLFLOW_SCHEMA_LOCK = 0x646C_7374_0002
PROJECT_SETTING = "DLSTUDIO_DATABASE_URL"
CONNECT_TIMEOUT_SECONDS = 10  # an unreachable host fails in seconds, not the OS's minutes
_DDL = ("CREATE", "ALTER", "DROP")
_POSTGRES_PORT = 5432


def is_postgresql(url: str) -> bool:
    """Whether ``url`` is a PostgreSQL SQLAlchemy URL (``postgresql+psycopg://...``)."""
    return url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def same_database(first: str, second: str) -> bool:
    """Whether two PostgreSQL URLs name the same database on the same server."""
    both = is_postgresql(first) and is_postgresql(second)
    return both and server_of(first) == server_of(second)


def connect_args(url: str) -> dict[str, object]:
    """Driver options for an engine on ``url``: a connect timeout for PostgreSQL unless the URL
    sets one."""
    if not is_postgresql(url):
        return {}
    try:
        query = make_url(url).query
    except ArgumentError:
        return {}
    return {} if "connect_timeout" in query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}


def server_of(url: str) -> str:
    """Where ``url`` points, for a message: ``host:port, database NAME`` (no user, no password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return mask_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database}"
    socket_folder = parsed.query.get("host")
    host = parsed.host or (socket_folder if isinstance(socket_folder, str) else None)
    port = parsed.port or parsed.query.get("port") or _POSTGRES_PORT
    where = f"{host or 'localhost'}:{port}"
    if host and host.startswith("/"):
        where = f"the socket in {host} (port {port})"
    return f"{where}, database {parsed.database}"


def create_tables(engine: Engine, metadata: MetaData, *, setting: str = PROJECT_SETTING) -> None:
    """``metadata.create_all(engine)`` for a table set of the project database; on PostgreSQL
    under its advisory lock, so two processes starting together never both run the DDL.

    Raises:
        DatabaseUnavailable: the database cannot be reached or opened.
    """
    url = engine.url.render_as_string(hide_password=False)
    try:
        with schema_lock(url, PROJECT_SCHEMA_LOCK, setting=setting):
            metadata.create_all(engine)
    except (OperationalError, InterfaceError) as exc:
        raise unreachable(url, exc, setting=setting) from exc


@contextmanager
def schema_lock(url: str, key: int, *, setting: str) -> Iterator[None]:
    """Hold PostgreSQL advisory lock ``key`` on a connection of its own while the body creates a
    schema, so racing processes never both run the DDL; a no-op for other databases.

    Raises:
        DatabaseUnavailable: the server cannot be reached (``setting`` names the variable).
    """
    if not is_postgresql(url):
        yield
        return
    engine = create_engine(with_psycopg(url), poolclass=NullPool, connect_args=connect_args(url))
    try:
        try:
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except (OperationalError, InterfaceError) as exc:
            raise unreachable(url, exc, setting=setting) from exc
        with connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:  # closing the connection would release it too
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()


def unreachable(url: str, exc: BaseException, *, setting: str) -> DatabaseUnavailable:
    """The error to raise when the database at ``url`` refused or failed a connection."""
    reason = reason_of(exc)
    lowered = reason.lower()
    if url.startswith("sqlite"):
        fix = f"check that the file's folder exists and this user may write there, or set {setting}"
    elif any(word in lowered for word in ("password", "authentication", "role ")):
        fix = f"check the user name and password in {setting}"
    elif "does not exist" in lowered:
        fix = f"create the database on the server, or correct its name in {setting}"
    else:
        fix = (
            "check that the database server is running and accepts connections from this "
            f"machine at that host and port (e.g. `pg_isready -h HOST -p PORT`), and that "
            f"{setting} names the right host and port"
        )
    return DatabaseUnavailable(
        f"Could not open the database at {server_of(url)} ({setting}): {reason}", fix=fix
    )


def reason_of(exc: BaseException) -> str:
    """The driver's first line about ``exc``, with any URL password masked."""
    root = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(root).splitlines() if line.strip()]
    return mask_url(lines[0] if lines else type(root).__name__)


def infrastructure_error(exc: BaseException) -> BaseException | None:
    """The database failure behind ``exc`` when there is one (a lost or refused connection, a
    server going away, a schema created by two processes at once), else None.

    Such a failure says nothing about the job: running it again may well succeed. The chain of
    causes is walked, so an MLflow error wrapping a SQLAlchemy one counts. An error dlstudio
    already explained to the user (a DataError about the user's own database) does not.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseUnavailable) or _is_infrastructure(current):
            return current
        if isinstance(current, DLStudioError):
            return None
        current = current.__cause__ or current.__context__
    return None


def _is_infrastructure(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError):
        return True
    if isinstance(exc, IntegrityError | ProgrammingError):  # e.g. pg_type's unique key: a race
        statement = (exc.statement or "").lstrip().upper()
        return statement.startswith(_DDL)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def with_psycopg(url: str) -> str:
    """``postgresql://`` means psycopg2 to SQLAlchemy; dlstudio ships psycopg (3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)
