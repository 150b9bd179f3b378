"""Plain data behind the pages: samples, the jobs table, durations, the target guess."""

from __future__ import annotations

from dlstudio.data.store import DatasetStore
from dlstudio.jobs import JobStatus, JobStore
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from dlstudio.tasks import get_template
from dlstudio.tasks.classification_checks import guess_target
from dlstudio.views.datasets import add_sample
from dlstudio.views.jobs import duration, jobs_table, progress_share, progress_text


def test_the_sample_is_stored_once_and_has_a_learnable_target() -> None:
    template = get_template("tabular_classification")
    sample = template.sample()
    store = DatasetStore(get_settings().datasets_dir)
    first, again = add_sample(store, sample), add_sample(store, template.sample())
    assert first.ref == again.ref  # same content, same version
    assert store.list_names() == ["sample-churn"]
    shares = sample.frame["churned"].value_counts(normalize=True)
    assert 0.2 < shares["yes"] < 0.5
    assert template.suggest_roles(sample.frame) == {"target": "churned"}


def test_target_guess_prefers_names_then_a_few_valued_last_column() -> None:
    import pandas as pd

    assert guess_target(pd.DataFrame({"label": [1, 2], "x": [3, 4]})) == "label"
    frame = pd.DataFrame({"id": range(40), "grade": ["a", "b"] * 20, "amount": range(40)})
    assert guess_target(frame) == "grade"  # the last column is numeric with 40 values
    assert guess_target(pd.DataFrame({"amount": [1.5, 2.5, 3.5]})) is None


def test_jobs_table_says_what_each_job_is_doing(customers_csv) -> None:
    store = JobStore.from_settings(get_settings())
    spec = {"task": "tabular_classification", "data": {"path": str(customers_csv)}}
    job = store.submit(spec, submitted_by="ana", now=utc_now())
    table = jobs_table(store.list_jobs())
    assert table.loc[0, "job"] == job.id and table.loc[0, "state"] == "queued"
    assert table.loc[0, "progress"] == "waiting for a worker"
    assert table.loc[0, "data"] == str(customers_csv)


def test_durations_read_naturally() -> None:
    assert [duration(s) for s in (0.2, 45, 200, 4800)] == ["1 s", "45 s", "3 min", "1 h 20 min"]


def test_a_job_that_stopped_early_reads_as_done(customers_csv) -> None:
    store = JobStore.from_settings(get_settings())
    spec = {"task": "tabular_classification", "data": {"path": str(customers_csv)}}
    job = store.submit(spec, submitted_by="ana", now=utc_now())
    store.claim_next("w", now=utc_now())
    store.report_progress(job.id, now=utc_now(), epoch=7, total_epochs=15, eta_seconds=30)
    assert progress_text(store.get(job.id)) == "epoch 7/15, 30 s left at most"
    assert progress_share(store.get(job.id)) == 7 / 15
    store.finish(job.id, JobStatus.SUCCEEDED, now=utc_now(), message="done")
    done = store.get(job.id)
    assert progress_text(done) == "done: early stopping after epoch 7/15"
    assert progress_share(done) == 1.0


def test_a_search_job_reads_as_its_latest_trial_and_the_current_epoch(customers_csv) -> None:
    store = JobStore.from_settings(get_settings())
    spec = {"task": "tabular_classification", "data": {"path": str(customers_csv)},
            "search": {"budget": "5m"}}  # fmt: skip
    job = store.submit(spec, submitted_by="ana", now=utc_now())
    other = store.submit({**spec, "search": None}, submitted_by="ana", now=utc_now())
    store.claim_next("w", now=utc_now())
    assert progress_text(store.get(job.id)) == "search (5m): first trial"
    for line in ("trial 0 finished (val_f1_macro 0.7000); 1 trial done",
                 "trial 1 stopped early (val_f1_macro 0.6000); 2 trials done, best 0.7000"):
        store.note(job.id, now=utc_now(), kind="search", message=line)
    searches = store.latest_events([job.id, other.id], "search")
    assert searches == {job.id: line}  # the newest line, and none for the plain job
    store.report_progress(job.id, now=utc_now(), epoch=2, total_epochs=15, eta_seconds=30)
    table = jobs_table(store.list_jobs(), searches).set_index("job")
    assert table.loc[job.id, "progress"] == f"search: {line}; now epoch 2/15 of the next trial"
    assert table.loc[other.id, "progress"] == "waiting for a worker"
