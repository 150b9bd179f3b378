"""Training data from a SQL query over a SQLAlchemy URL (a SQLite file here; PostgreSQL takes
the same path)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dlstudio.data.sources import load_data
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
