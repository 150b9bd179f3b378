"""Names and values from users reach the dashboard as text: never a link, never an image the
browser fetches, never a traceback (security issue 23), on the Data, Jobs and Results pages
under AppTest."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.data.store import DatasetStore
from dlstudio.jobs import JobStatus, JobStore
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings

PAGES = Path(__file__).resolve().parents[2]
PHISHING = "[Log in again](http://evil.example/login)"
PIXEL = "![ok](http://evil.example/pixel.png)"
ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: "\" + ASCII punctuation is that character


def shown(markdown: str) -> str:
    """What a reader sees of ``markdown`` that holds only backslash escapes and line breaks."""
    return ESCAPE.sub(r"\1", markdown).replace("  \n", "\n")


def assert_plain(markdown: str, *hostile: str) -> None:
    """Each hostile text is in ``markdown`` as text, with no link or image syntax left."""
    unescaped = ESCAPE.sub("", markdown)  # what Markdown could still read as syntax
    assert "](" not in unescaped and "![" not in unescaped and "://" not in unescaped
    for text in hostile:
        assert text in shown(markdown)


@pytest.fixture
def store(isolated_home: Path) -> DatasetStore:
    return DatasetStore.default()


def data_page() -> AppTest:
    return AppTest.from_file(str(PAGES / "pages" / "data.py"), default_timeout=60).run()


def test_a_hostile_class_label_in_an_error_is_shown_as_text(store: DatasetStore) -> None:
    # given a label column with 29 'a' and one class whose name is a phishing link
    rows = "".join(f"{i},a\n" for i in range(29)) + f'29,"{PHISHING}"\n'
    store.save("rare", f"x,label\n{rows}".encode(), filename="rare.csv")

    # when the Data page checks it
    app = data_page()

    # then the too-rare class is named in the red box as text, not as a link
    assert not app.exception
    (error,) = app.error
    assert error.value.startswith("Some classes are too rare to test: ")
    assert_plain(error.value, PHISHING)


def test_a_hostile_column_name_is_shown_as_text(store: DatasetStore) -> None:
    # given a target column whose name is a remote image
    rows = "".join(f"{i},{'yes' if i % 2 else 'no'}\n" for i in range(40))
    stored = store.save("pixel", f'x,"{PIXEL}"\n{rows}'.encode(), filename="pixel.csv")
    app = data_page()

    # when it is chosen as the column to predict
    app.selectbox(key=f"data_target_pixel_{stored.version}").set_value(PIXEL).run()

    # then "Ready to train" names it as text: the browser fetches no image
    assert not app.exception
    (ready,) = [s.value for s in app.success if s.value.startswith("Ready to train")]
    assert_plain(ready, PIXEL)


def test_a_hostile_job_error_is_shown_as_text(mlflow_home: Path) -> None:
    # given a failed job whose error message quotes a value holding a link and an image
    store = JobStore.from_settings(get_settings())
    job = store.submit({"task": "tabular_classification"}, submitted_by="ana", now=utc_now())
    store.claim_next("w", now=utc_now())
    message = f"The value {PHISHING!r} in column {PIXEL!r} is not a number."
    store.finish(job.id, JobStatus.FAILED, now=utc_now(), message="failed", error_message=message)

    # when the Jobs page shows it
    app = AppTest.from_file(str(PAGES / "app.py"), default_timeout=60).run()
    app.switch_page("pages/jobs.py").run()

    # then the message reads as typed, without a link or an image
    assert not app.exception
    assert shown(app.error[0].value) == message
    assert_plain(app.error[0].value, PHISHING, PIXEL)


def test_a_hostile_run_parameter_is_shown_as_text(mlflow_home: Path) -> None:
    # given a shared link to the Results page whose ?run= is a phishing link
    app = AppTest.from_file(str(PAGES / "pages" / "results.py"), default_timeout=60)
    app.query_params["run"] = PHISHING

    # when it is opened
    app.run()

    # then the error quotes the parameter as text
    assert not app.exception
    (error,) = app.error
    assert error.value.startswith("Cannot show results: ")
    assert_plain(error.value, PHISHING)


def test_an_upload_with_a_file_name_over_255_bytes_is_saved(store: DatasetStore) -> None:
    # given a CSV whose name is longer than any file system allows (it crashed the save)
    filename = "é" * 200 + ".csv"
    rows = "".join(f"{i},{'yes' if i % 2 else 'no'}\n" for i in range(40))
    app = data_page()
    app.file_uploader(key="data_upload").set_value((filename, f"x,y\n{rows}".encode(), "text/csv"))
    app.run()

    # when it is saved
    app.button(key="data_save").click().run()

    # then it is stored under a shortened name with its extension, and shown
    assert not app.exception and not app.error
    assert store.list_names() == ["dataset"]  # nothing of the name is a letter A-Z
    (stored,) = store.versions("dataset")
    assert stored.filename.endswith(".csv") and len(stored.filename.encode()) <= 255
    assert stored.path.is_file()


def test_unexpected_errors_show_no_details_in_the_browser() -> None:
    config = tomllib.loads((PAGES / ".streamlit" / "config.toml").read_text(encoding="utf-8"))

    assert config["client"]["showErrorDetails"] == "none"
