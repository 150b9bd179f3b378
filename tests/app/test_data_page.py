"""The Data page under AppTest: upload, preview, profile, target balance, checks, rename, delete."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.data.store import DatasetStore
from dlstudio.tasks import get_template
from dlstudio.views.datasets import add_sample
from tests.conftest import make_customers

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "data.py")
CUSTOMERS = make_customers().to_csv(index=False).encode()
# 30 labelled rows, one of them the only 'b': too rare to appear in a 20% test split
CATALOG, PREVIEW, PROFILE = 0, 1, 2  # the page's tables, top to bottom (AppTest has no keys)
RARE_CLASS = ("x,label\n" + "".join(f"{i},a\n" for i in range(29)) + "29,b\n").encode()


@pytest.fixture
def store(isolated_home: Path) -> DatasetStore:
    return DatasetStore.default()


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def upload(app: AppTest, filename: str, data: bytes) -> AppTest:
    app.file_uploader(key="data_upload").set_value((filename, data, "text/csv"))
    return app.run()


def balance_chart(app: AppTest) -> dict[str, int]:
    """The class -> rows pairs the target balance chart draws."""
    chart = app.get("vega_lite_chart")[0].proto
    data = pa.ipc.open_stream(chart.datasets[0].data.data).read_pandas()
    return dict(zip(data["class"], data["rows"], strict=True))


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def test_empty_install_invites_an_upload_and_states_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DLSTUDIO_MAX_UPLOAD_MB", "50")

    app = open_page()

    assert not app.exception
    assert texts(app.info) == [
        "No datasets yet. Upload a CSV, Excel or Parquet file, or a ZIP of images, above to get "
        "started."
    ]
    uploader = app.file_uploader(key="data_upload")
    assert "up to 50 MB" in uploader.label
    assert {".csv", ".xlsx", ".parquet", ".zip"} <= set(uploader.allowed_type)
    assert "one folder per class" in uploader.help
    assert len(app.selectbox) == 0


def test_upload_saves_a_named_dataset_and_a_second_upload_adds_a_version(
    store: DatasetStore,
) -> None:
    app = upload(open_page(), "My customers.csv", CUSTOMERS)
    assert texts(app.text_input) == ["My_customers"]  # pre-filled from the file name

    app.button(key="data_save").click().run()

    assert not app.exception
    assert store.list_names() == ["My_customers"]
    first = store.versions("My_customers")[0]
    assert f"Saved 'My_customers' (version {first.version})." in texts(app.success)
    assert app.selectbox(key="data_dataset").value == "My_customers"

    app = upload(app, "My customers.csv", make_customers(seed=1).to_csv(index=False).encode())
    app.button(key="data_save").click().run()

    versions = store.versions("My_customers")
    assert len(versions) == 2 and versions[1].version == first.version
    catalog = app.dataframe[CATALOG].value
    assert catalog["version"].tolist() == [v.version for v in versions]
    assert catalog["rows"].tolist() == [240, 240]


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        (
            "garbage.csv",
            bytes(range(256)) * 8,
            "garbage.csv does not look like a text table (it contains binary data).",
        ),
        (
            "report.csv",
            b"PK\x03\x04" + b"\x00" * 64,
            "report.csv is not a text table: it is a zip archive, most likely an Excel workbook.",
        ),
        ("empty.csv", b"", "empty.csv is empty."),
    ],
)
def test_bad_upload_shows_the_readers_message_and_stores_nothing(
    store: DatasetStore, filename: str, data: bytes, message: str
) -> None:
    app = upload(open_page(), filename, data)

    app.button(key="data_save").click().run()

    assert not app.exception
    assert len(app.error) == 1
    assert app.error[0].value.startswith(message)
    assert "**How to fix:**" in app.error[0].value
    assert store.list_names() == []
    assert not store.root.exists() or list(store.root.iterdir()) == []


def test_stored_dataset_shows_preview_profile_balance_and_checks(store: DatasetStore) -> None:
    store.save("customers", CUSTOMERS, filename="customers.csv")
    customers = make_customers()

    app = open_page()

    assert not app.exception
    preview = app.dataframe[PREVIEW].value
    assert preview.shape == (20, 8)
    assert preview["customer_id"].tolist()[:2] == ["C00000", "C00001"]
    profile = app.dataframe[PROFILE].value.set_index("column")
    assert profile.loc["monthly", "kind"] == "numeric"
    assert profile.loc["monthly", "missing_pct"] == 4.2  # 10 of 240 rows blanked
    assert profile.loc["plan", "distinct"] == 3
    assert profile["target"].tolist() == [c == "churn" for c in customers.columns]
    version = store.versions("customers")[0].version
    assert app.selectbox(key=f"data_target_customers_{version}").value == "churn"
    assert balance_chart(app) == customers["churn"].value_counts().to_dict()
    assert texts(app.info) == [
        "Column 'customer_id' is left out: every value is different, like an ID."
    ]
    assert texts(app.success) == [
        "Ready to train: predict 'churn' from 'customers' on the Train page."
    ]
    catalog = app.dataframe[CATALOG].value
    assert catalog[["name", "kind", "rows", "columns"]].values.tolist() == [
        ["customers", "table", 240, 8]
    ]
    template = app.selectbox(key=f"data_task_customers_{version}")
    assert template.options == [
        "Tabular classification",
        "Tabular regression",
        "Time-series forecasting",
        "Text sentiment",
    ]  # the templates that read a table
    assert template.value == "tabular_classification"  # what a churn table suits


def test_each_table_sample_opens_on_its_template_ready_to_train(store: DatasetStore) -> None:
    """Issue 22: the text sample was checked as a table ("No column ... can be used as an
    input") and the forecasting sample was offered 'store' as the target."""
    samples = {}
    for task in ("tabular_classification", "tabular_regression", "forecasting", "text_sentiment"):
        sample = get_template(task).sample()
        samples[sample.name] = (task, sample.roles["target"])
        add_sample(store, sample)
    app = open_page()
    for name, (task, target) in samples.items():
        app.selectbox(key="data_dataset").set_value(name).run()
        version = store.versions(name)[0].version
        assert app.selectbox(key=f"data_task_{name}_{version}").value == task, name
        assert app.selectbox(key=f"data_target_{name}_{version}").value == target, name
        assert not app.error, (name, texts(app.error))
        assert texts(app.success) == [
            f"Ready to train: predict {target!r} from {name!r} on the Train page."
        ]


def test_choosing_another_target_redraws_its_balance(store: DatasetStore) -> None:
    version = store.save("customers", CUSTOMERS, filename="customers.csv").version
    app = open_page()
    target = app.selectbox(key=f"data_target_customers_{version}")
    assert target.value == "churn"  # the template's guess

    target.set_value("plan").run()

    assert balance_chart(app) == make_customers()["plan"].value_counts().to_dict()
    profile = app.dataframe[PROFILE].value
    assert profile.loc[profile["target"], "column"].tolist() == ["plan"]


def test_a_problem_in_the_data_is_shown_with_its_fix(store: DatasetStore) -> None:
    store.save("rare", RARE_CLASS, filename="rare.csv")

    app = open_page()

    assert not app.exception
    assert len(app.error) == 1
    assert app.error[0].value.startswith("Some classes are too rare to test: 'b' (1 rows).")
    assert app.error[0].value.endswith(
        "**How to fix:** Add rows of these classes, merge them into a related class, "
        "or remove those rows."
    )
    assert balance_chart(app) == {"a": 29, "b": 1}
    assert not any(text.startswith("Ready to train") for text in texts(app.success))


def test_rename_moves_the_dataset_and_keeps_it_selected(store: DatasetStore) -> None:
    version = store.save("customers", CUSTOMERS, filename="customers.csv").version
    store.save("rare", RARE_CLASS, filename="rare.csv")
    app = open_page()

    app.text_input(key="data_new_name").set_value("clients")
    app.button(key="data_rename").click().run()

    assert not app.exception
    assert store.list_names() == ["clients", "rare"]
    assert [v.version for v in store.versions("clients")] == [version]
    assert app.selectbox(key="data_dataset").value == "clients"
    assert texts(app.success)[0] == "Renamed 'customers' to 'clients'."


def test_rename_to_a_taken_name_is_refused_and_changes_nothing(store: DatasetStore) -> None:
    store.save("customers", CUSTOMERS, filename="customers.csv")
    store.save("rare", RARE_CLASS, filename="rare.csv")
    app = open_page()

    app.text_input(key="data_new_name").set_value("rare")
    app.button(key="data_rename").click().run()

    assert app.error[0].value.startswith("A dataset named 'rare' already exists.")
    assert store.list_names() == ["customers", "rare"]
    assert app.selectbox(key="data_dataset").value == "customers"


def test_delete_needs_confirmation_and_removes_only_that_dataset(store: DatasetStore) -> None:
    store.save("customers", CUSTOMERS, filename="customers.csv")
    rare = store.save("rare", RARE_CLASS, filename="rare.csv")
    app = open_page()
    assert app.button(key="data_delete").disabled  # a browser cannot click it yet

    app.checkbox(key="data_confirm_customers").check().run()
    assert not app.button(key="data_delete").disabled
    app.button(key="data_delete").click().run()

    assert not app.exception
    assert store.list_names() == ["rare"]
    assert store.versions("rare") == [rare]
    assert rare.path.read_bytes() == RARE_CLASS
    assert texts(app.success)[0] == "Deleted dataset 'customers' and all its versions."
    assert app.selectbox(key="data_dataset").value == "rare"


def test_parquet_upload_is_profiled_like_a_csv(store: DatasetStore) -> None:
    buffer = io.BytesIO()
    pd.read_csv(io.BytesIO(RARE_CLASS)).to_parquet(buffer, index=False)
    app = upload(open_page(), "rare.parquet", buffer.getvalue())

    app.button(key="data_save").click().run()

    assert store.list_names() == ["rare"]
    assert balance_chart(app) == {"a": 29, "b": 1}
