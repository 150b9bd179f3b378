"""Training data from a SQL query over a SQLAlchemy URL (a SQLite file; and a real PostgreSQL
database, ``postgres_url`` of tests/postgres.py, for its read-only transaction)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dlstudio.data import sources
from dlstudio.data.sources import load_data, read_statement
from dlstudio.errors import DataError, SpecError
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from tests.conftest import make_customers


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as connection:
        make_customers(50).to_sql("customers", connection, index=False)
    return f"sqlite:///{path}"


def data_spec(**data):
    return parse_spec({"data": {"target": "churn", **data}}).data


def test_a_query_is_read_afresh_with_a_content_version(database: str) -> None:
    spec = data_spec(query="SELECT * FROM customers WHERE tenure > 10", database_url=database)

    source = load_data(spec, get_settings())

    frame = source.data.frame
    assert len(frame) == int((make_customers(50)["tenure"] > 10).sum())
    assert (frame["tenure"] > 10).all()
    assert source.name == "sql query" and len(source.version) == 12
    assert load_data(spec, get_settings()).version == source.version  # same rows, same version


def test_new_rows_give_a_new_version(database: str) -> None:
    spec = data_spec(query="SELECT * FROM customers", database_url=database)
    before = load_data(spec, get_settings()).version
    with sqlite3.connect(database.removeprefix("sqlite:///")) as connection:
        make_customers(20, seed=1).to_sql("customers", connection, index=False, if_exists="append")
    after = load_data(spec, get_settings())
    assert after.version != before and len(after.data.frame) == 70


def test_a_bad_query_names_the_problem(database: str) -> None:
    with pytest.raises(DataError) as caught:
        load_data(data_spec(query="SELECT * FROM clients", database_url=database), get_settings())
    assert "no such table: clients" in caught.value.message
    assert "table and column names" in caught.value.fix


def test_a_bad_url_says_how_to_write_one() -> None:
    with pytest.raises(DataError, match="not a database URL"):
        load_data(data_spec(query="SELECT 1", database_url="shop.db"), get_settings())


def test_an_empty_result_is_refused(database: str) -> None:
    spec = data_spec(query="SELECT * FROM customers WHERE tenure < 0", database_url=database)
    with pytest.raises(DataError, match="returned no rows"):
        load_data(spec, get_settings())


def test_a_query_needs_its_database() -> None:
    with pytest.raises(SpecError, match=r"data\.query needs data\.database_url"):
        parse_spec({"data": {"query": "SELECT 1"}})


# security issue 23, finding 7: data.query only reads, one statement, in a read-only connection


def rows(database: str) -> int:
    with sqlite3.connect(database.removeprefix("sqlite:///")) as connection:
        return connection.execute("SELECT count(*) FROM customers").fetchone()[0]


@pytest.mark.parametrize(
    "query",
    [
        "DROP TABLE customers",
        "CREATE TABLE copy AS SELECT * FROM customers",
        "ATTACH 'stolen.db' AS stolen",
        "VACUUM INTO 'copy.db'",
        "DELETE FROM customers",
        "PRAGMA query_only = OFF",
    ],
)
def test_a_statement_that_writes_is_refused_before_it_runs(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    monkeypatch.chdir(tmp_path)  # where ATTACH and VACUUM INTO would create their files
    before = sorted(tmp_path.iterdir())

    with pytest.raises(DataError) as caught:
        load_data(data_spec(query=query, database_url=database), get_settings())

    assert caught.value.message == (
        f"data.query must only read data, but it starts with {query.split()[0]!r}."
    )
    assert "SELECT" in caught.value.fix
    assert rows(database) == 50 and sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "query",
    [
        "DROP TABLE customers",
        "CREATE TABLE copy AS SELECT * FROM customers",
        "ATTACH 'stolen.db' AS stolen",
        "VACUUM INTO 'copy.db'",
        "PRAGMA query_only = OFF",
    ],
)
def test_the_connection_itself_refuses_to_write_when_the_text_check_is_bypassed(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    # given a statement check that lets anything through (the connection is the second lock)
    monkeypatch.setattr(sources, "read_statement", lambda statement, dialect: statement)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())

    with pytest.raises(DataError, match=r"not authorized|authorization denied"):
        load_data(data_spec(query=query, database_url=database), get_settings())

    assert rows(database) == 50 and sorted(tmp_path.iterdir()) == before


def test_several_statements_are_refused_and_none_runs(database: str) -> None:
    spec = data_spec(query="SELECT * FROM customers; DROP TABLE customers", database_url=database)

    with pytest.raises(DataError) as caught:
        load_data(spec, get_settings())

    assert "several SQL statements" in caught.value.message
    assert rows(database) == 50


def test_semicolons_in_strings_and_comments_and_a_final_one_are_fine(database: str) -> None:
    query = (
        "SELECT * FROM customers /* a; b */ WHERE plan <> 'x;y' AND \"tenure\" > 10 -- ;\n;"
    )

    source = load_data(data_spec(query=query, database_url=database), get_settings())

    assert len(source.data.frame) == int((make_customers(50)["tenure"] > 10).sum())


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"

    with pytest.raises(DataError, match="unable to open database file"):
        load_data(data_spec(query="SELECT 1", database_url=f"sqlite:///{missing}"), get_settings())

    assert not missing.exists()


def test_sqlite_options_that_could_reopen_the_file_for_writing_are_refused(database: str) -> None:
    url = f"sqlite:///file:{database.removeprefix('sqlite:///')}?mode=rwc&uri=true"

    with pytest.raises(DataError, match=r"has options after '\?'"):
        load_data(data_spec(query="SELECT * FROM customers", database_url=url), get_settings())


def test_a_database_dlstudio_cannot_make_read_only_is_refused(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sources.READ_ONLY_SETUP, "sqlite")

    with pytest.raises(DataError, match="only where it can make them read-only"):
        load_data(data_spec(query="SELECT 1", database_url=database), get_settings())


@pytest.mark.parametrize(
    ("query", "dialect", "refusal"),
    [
        ("WITH young AS (SELECT 1 AS a) SELECT * FROM young", "sqlite", None),
        ("(SELECT 1) UNION (SELECT 2)", "sqlite", None),
        ("SELECT 'it''s; fine'", "sqlite", None),
        ("SELECT $tag$ ; $tag$", "postgresql", None),
        ("", "sqlite", "holds no SQL statement"),
        ("-- nothing\n", "sqlite", "holds no SQL statement"),
        ("SELECT 1;;", "sqlite", "several"),
        ("SELECT 1; 'x'", "sqlite", "several"),
        ("DELETE FROM t; COMMIT; SELECT 1", "postgresql", "several"),
        ("SELECT $tag$ ; $tag$", "sqlite", "several"),  # dollar quotes are PostgreSQL's only
        ("SELECT x$q$; DELETE FROM t; $q$", "postgresql", "several"),  # x$q$ is a name
        ("SELECT E'x\\'' ; DELETE FROM t", "postgresql", "several"),  # \' escapes in E'...'
        ("SELECT 'x\\' ; DELETE FROM t; --'", "postgresql", "several"),  # but not in '...'
        ("COPY (SELECT 1) TO PROGRAM 'rm -rf /'", "postgresql", "only read"),
    ],
)
def test_the_statement_check_reads_quotes_and_comments_as_the_database_does(
    query: str, dialect: str, refusal: str | None
) -> None:
    if refusal is None:
        assert read_statement(query, dialect=dialect) == query
    else:
        with pytest.raises(DataError, match=refusal):
            read_statement(query, dialect=dialect)


def test_postgresql_queries_run_in_a_read_only_transaction(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS dlstudio_readonly_check"))
        connection.execute(text("CREATE TABLE dlstudio_readonly_check AS SELECT 1 AS churn"))
    # given a statement check that lets anything through: the transaction is the second lock
    monkeypatch.setattr(sources, "read_statement", lambda statement, dialect: statement)
    for query in ("DELETE FROM dlstudio_readonly_check RETURNING *",
                  "COMMIT; DELETE FROM dlstudio_readonly_check RETURNING *",
                  "WITH gone AS (DELETE FROM dlstudio_readonly_check RETURNING *) "
                  "SELECT * FROM gone"):  # fmt: skip
        with pytest.raises(DataError, match="read-only transaction"):
            load_data(data_spec(query=query, database_url=postgres_url), get_settings())
    with engine.connect() as connection:
        left = connection.execute(text("SELECT count(*) FROM dlstudio_readonly_check")).scalar()
        connection.execute(text("DROP TABLE dlstudio_readonly_check"))
        connection.commit()
    engine.dispose()
    assert left == 1
