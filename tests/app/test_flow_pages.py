"""Home, Train, Jobs and Schedules under AppTest, through app.py's navigation, on a temp home."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.data.store import DatasetStore
from dlstudio.jobs import JobStatus, JobStore
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from tests.conftest import make_customers

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app(mlflow_home: Path) -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def open_page(app: AppTest, page: str) -> AppTest:
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    return app


def store_table(name: str, frame) -> str:
    data = frame.to_csv(index=False).encode()
    return DatasetStore(get_settings().datasets_dir).save(name, data, filename=f"{name}.csv").ref


def jobs() -> JobStore:
    return JobStore.from_settings(get_settings())


def test_home_on_an_empty_install_says_what_is_missing(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert app.metric[0].value == "not running"  # tests run with DLSTUDIO_START_WORKER=false
    assert "No jobs yet" in app.info[0].value
    assert any("dlstudio worker" in c.value for c in app.sidebar.caption)


def test_sample_button_stores_the_sample_and_prefills_train(app: AppTest) -> None:
    app.run()
    app.button(key="home_sample_tabular_classification").click().run()
    assert not app.exception
    assert DatasetStore(get_settings().datasets_dir).list_names() == ["sample-churn"]
    assert app.selectbox(key="train_dataset_choice").value == "sample-churn"
    target = app.selectbox(key="train_role_tabular_classification_target_sample-churn")
    assert target.value == "churned"


def test_train_submits_a_job_with_the_chosen_settings(app: AppTest) -> None:
    ref = store_table("customers", make_customers())
    open_page(app, "pages/train.py")
    assert app.selectbox(key="train_role_tabular_classification_target_customers").value == "churn"
    app.radio(key="train_preset").set_value("fast")
    app.number_input(key="train_adv_tabular_classification_training.epochs").set_value(2)
    app.run()
    assert "training:\n  preset: fast\n  epochs: 2" in app.code[0].value  # the YAML view
    app.button(key="train_submit").click().run()
    assert not app.exception
    (job,) = jobs().list_jobs()
    assert job.state is JobStatus.QUEUED
    assert job.spec["data"] == {**job.spec["data"], "dataset": ref, "target": "churn"}
    assert job.spec["training"]["epochs"] == 2 and job.spec["training"]["preset"] == "fast"
    assert job.spec["tracking"]["register_as"] == "customers"  # Predict finds it by this name
    assert job.id in app.success[-1].value
    assert app.button(key="train_submit").disabled  # a second click would train it twice
    app.radio(key="train_preset").set_value("balanced").run()
    assert not app.button(key="train_submit").disabled  # another setting: another model


def test_train_submits_a_search_with_its_budget_and_the_name_to_register(app: AppTest) -> None:
    store_table("customers", make_customers())
    open_page(app, "pages/train.py")
    toggle = app.toggle(key="train_search")
    assert "network mlp or tabm" in toggle.help and "learning_rate 0.0001 to 0.01" in toggle.help
    toggle.set_value(True).run()
    app.number_input(key="train_search_minutes").set_value(2).run()
    app.number_input(key="train_search_workers").set_value(2).run()
    assert not app.exception
    assert "search:\n  budget: 2m" in app.code[0].value
    register = app.text_input(key="train_register_customers")
    assert not register.disabled and "saves its best try's model" in register.help
    app.button(key="train_submit").click().run()
    (job,) = jobs().list_jobs()
    assert job.spec["search"]["budget"] == "2m" and job.spec["search"]["workers"] == 2
    assert job.spec["tracking"]["register_as"] == "customers"


def test_train_explains_a_blocking_problem_and_disables_submit(app: AppTest) -> None:
    frame = make_customers()
    frame["churn"] = "yes"  # one class: nothing to learn
    store_table("onlyyes", frame)
    open_page(app, "pages/train.py")
    app.selectbox(key="train_role_tabular_classification_target_onlyyes").set_value("churn").run()
    assert any("one" in e.value.lower() for e in app.error)
    assert app.button(key="train_submit").disabled
    assert jobs().list_jobs() == []


def test_failed_job_shows_the_message_and_the_traceback_apart(app: AppTest, customers_csv) -> None:
    store = jobs()
    spec = {"task": "tabular_classification", "data": {"path": str(customers_csv)}}
    job = store.submit(spec, submitted_by="ana", now=utc_now())
    store.claim_next("w", now=utc_now())
    store.finish(
        job.id, JobStatus.FAILED, now=utc_now(), message="failed",
        error_message="The target column 'churn' is missing.", error_traceback="Traceback: boom",
    )  # fmt: skip
    open_page(app, "pages/jobs.py")
    assert app.error[0].value == "The target column 'churn' is missing."
    assert "Traceback: boom" in [c.value for c in app.code]
    assert app.expander[0].label.startswith("Technical details")


def test_cancel_asks_for_confirmation_first(app: AppTest, customers_csv) -> None:
    spec = {"task": "tabular_classification", "data": {"path": str(customers_csv)}}
    job = jobs().submit(spec, submitted_by="ana", now=utc_now())
    open_page(app, "pages/jobs.py")
    assert "Waiting for a worker" in app.info[0].value
    app.button(key="jobs_cancel").click().run()
    assert jobs().get(job.id).state is JobStatus.QUEUED  # not yet
    assert "Cancel this job?" in app.warning[0].value
    app.button(key="jobs_cancel_yes").click().run()
    assert not app.exception
    assert jobs().get(job.id).state is JobStatus.CANCELLED


def test_schedules_page_starts_empty_and_says_how_to_begin(app: AppTest) -> None:
    open_page(app, "pages/schedules.py")
    assert not app.exception
    assert "No schedules yet" in app.info[0].value
