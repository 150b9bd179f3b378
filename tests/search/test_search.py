"""Budgeted hyperparameter search (issue 19): budgets, the search space, trials as child runs
of one MLflow parent, pruning, and the CLI's ``--search``."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dlstudio.cli import main
from dlstudio.errors import SpecError
from dlstudio.search.budget import Budget, parse_budget
from dlstudio.search.fields import TRAINING_SPACE
from dlstudio.search.space import narrowed, search_space, with_values
from dlstudio.search.study import TRIAL_STATE_TAG, TrialPruned, TrialReporter
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.queries import recent_runs
from dlstudio.tracking.queries.search import search_trials
from dlstudio.training.callbacks import CancelledByUser, TrainingCancelled
from dlstudio.training.loop import Callback, FitState
from tests.conftest import make_customers
from tests.test_cli_errors import error_message, stored_runs

RESULTS = str(Path(__file__).resolve().parents[2] / "pages" / "results.py")


@pytest.mark.parametrize(
    ("text", "budget"),
    [("5m", Budget(seconds=300)), ("90s", Budget(seconds=90)), ("1h", Budget(seconds=3600)),
     (" 2.5M ", Budget(seconds=150)), ("20", Budget(trials=20))],
)  # fmt: skip
def test_budgets_are_a_time_or_a_number_of_trials(text: str, budget: Budget) -> None:
    assert parse_budget(text) == budget


@pytest.mark.parametrize(
    ("text", "words"),
    [("0", "leaves no time"), ("-5m", "leaves no time"), ("5x", "not a time or a number"),
     ("", "not a time or a number"), ("2.5", "not a whole number of trials")],
)  # fmt: skip
def test_a_bad_budget_says_what_to_write(text: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_budget(text)
    assert words in caught.value.message
    assert '"20"' in caught.value.fix  # every fix shows a form that works


def test_every_template_searches_the_shared_training_fields_then_its_own() -> None:
    from dlstudio.tasks.registry import task_names

    shared = [field.path for field in TRAINING_SPACE]
    for task in task_names():
        paths = [field.path for field in search_space(task)]
        assert paths[: len(shared)] == shared and "options.dropout" in paths[len(shared) :]
    assert search_space("tabular_classification")[: len(shared)] == TRAINING_SPACE
    # a template may give a shared field its own range: text fine-tunes a pretrained encoder
    text_rate = search_space("text_sentiment")[0]
    assert (text_rate.low, text_rate.high, text_rate.log) == (1e-5, 3e-3, True)
    assert search_space("text_sentiment")[1].choices == (16, 32, 64, 128)


def test_ranges_narrow_the_space_and_bad_ones_are_refused() -> None:
    space = narrowed(TRAINING_SPACE, {"training.learning_rate": (3e-4, 3e-3)})
    assert (space[0].low, space[0].high, space[0].log) == (3e-4, 3e-3, True)
    bad = {
        "training.dropout": "cannot be searched in this template",
        "training.batch_size": "searched over the choices 64, 128, 256 or 512",
    }
    for path, words in bad.items():
        with pytest.raises(SpecError, match=words):
            narrowed(TRAINING_SPACE, {path: (1.0, 2.0)})
    with pytest.raises(SpecError, match=r"runs from 0\.01 down to 0\.001") as caught:
        narrowed(TRAINING_SPACE, {"training.learning_rate": (1e-2, 1e-3)})
    assert "low <= high" in caught.value.fix
    with pytest.raises(SpecError, match="log scale"):
        narrowed(TRAINING_SPACE, {"training.learning_rate": (0.0, 1e-3)})


def test_sampled_values_land_in_the_spec() -> None:
    raw = {"task": "tabular_classification", "data": {"path": "x.csv", "target": "y"}}
    spec = parse_spec(
        with_values(raw, {"training.learning_rate": 0.002, "training.batch_size": 64})
    )
    assert (spec.training.learning_rate, spec.training.batch_size) == (0.002, 64)
    assert raw == {"task": "tabular_classification", "data": {"path": "x.csv", "target": "y"}}


def test_a_spec_with_a_bad_budget_is_refused() -> None:
    with pytest.raises(SpecError, match="not a time or a number of trials"):
        parse_spec({"task": "tabular_classification", "search": {"budget": "5x"}})


class FakeTrial:
    number = 0

    def __init__(self, prune_at: int) -> None:
        self.prune_at, self.reported = prune_at, []

    def report(self, value: float, step: int) -> None:
        self.reported.append((step, value))

    def should_prune(self) -> bool:
        return len(self.reported) >= self.prune_at


def test_the_reporter_keeps_the_best_value_and_stops_a_hopeless_trial() -> None:
    trial = FakeTrial(prune_at=3)
    reporter = TrialReporter(trial, "val_f1_macro", maximize=True)
    state = FitState(model=None, optimizer=None, total_epochs=5, steps_per_epoch=1)
    for epoch, value in ((1, 0.5), (2, 0.7)):
        state.epoch, state.metrics = epoch, {"val_f1_macro": value, "val_loss": 1.0}
        reporter.on_epoch_end(state)
    state.epoch, state.metrics = 3, {"val_f1_macro": 0.6}
    with pytest.raises(TrialPruned):
        reporter.on_epoch_end(state)
    assert trial.reported == [(1, 0.5), (2, 0.7), (3, 0.6)]
    assert reporter.best == 0.7


def test_a_search_job_runs_in_the_worker_and_records_its_best_trial(
    mlflow_home: Path, tmp_path: Path
) -> None:
    from dlstudio.jobs import JobStatus, JobStore
    from dlstudio.jobs.store import utc_now
    from dlstudio.jobs.worker import Worker
    from dlstudio.settings import get_settings

    data = tmp_path / "customers.csv"
    make_customers().to_csv(data, index=False)
    raw = {"data": {"path": str(data), "target": "churn"},
           "training": {"preset": "fast", "epochs": 2}, "search": {"budget": "2"},
           "tracking": {"register_as": "churn-search"}}  # fmt: skip
    store = JobStore.from_settings(get_settings())
    job = store.submit(parse_spec(raw).model_dump(mode="json"), submitted_by="ana", now=utc_now())
    assert Worker(store, poll_seconds=0.1).run(max_jobs=1) == 1
    done = store.get(job.id)
    assert done.state is JobStatus.SUCCEEDED, done.error_traceback
    assert "search: 2 trials (0 pruned, 0 failed)" in done.log_tail
    assert "trial 1 finished (val_f1_macro 0." in done.log_tail and "2 of 2 trials" in done.log_tail
    # the Jobs page reads the search's progress from the job's timeline
    (line,) = store.latest_events([job.id], "search").values()
    assert line.startswith("trial 1 ") and "; 2 trials done, best 0." in line
    runs = stored_runs(mlflow_home).set_index("run_id")
    best = runs.loc[done.mlflow_run_id]  # the job points at the best trial's run
    parent = runs.loc[best["tags.mlflow.parentRunId"]]
    assert parent["tags.dlstudio.search_best_run"] == done.mlflow_run_id
    assert (runs["tags.dlstudio.job_id"] == job.id).sum() == 3  # the parent and both trials
    # the best trial's model is registered, as a single run's would be; the parent names it
    assert "registered as churn-search version 1" in done.log_tail
    registry = mlflow.MlflowClient(registry_uri=f"sqlite:///{mlflow_home}/mlflow.db")
    (version,) = registry.search_model_versions("name='churn-search'")
    assert version.run_id == done.mlflow_run_id
    assert parent["tags.dlstudio.search_registered"] == "churn-search version 1"
    assert best["tags.dlstudio.decision"] == "promoted"  # the first version is the champion
    mlflow.set_tracking_uri("")


def test_a_search_on_two_workers_queues_a_helper_on_the_same_study(
    mlflow_home: Path, tmp_path: Path
) -> None:
    from dlstudio.jobs import JobStatus, JobStore
    from dlstudio.jobs.store import utc_now
    from dlstudio.jobs.worker import Worker

    data = tmp_path / "customers.csv"
    make_customers().to_csv(data, index=False)
    raw = {"data": {"path": str(data), "target": "churn"},
           "training": {"preset": "fast", "epochs": 2},
           "search": {"budget": "2", "workers": 2}}  # fmt: skip
    store = JobStore.from_settings(get_settings())
    job = store.submit(parse_spec(raw).model_dump(mode="json"), submitted_by="ana", now=utc_now())
    # one worker here, so the helper starts after the search's own job has used the budget
    assert Worker(store, poll_seconds=0.1).run(max_jobs=2) == 2
    leader = store.get(job.id)
    (helper,) = [j for j in store.list_jobs() if j.id != job.id]
    assert leader.state is JobStatus.SUCCEEDED and helper.state is JobStatus.SUCCEEDED
    assert f"queued helper job {helper.id}" in leader.log_tail
    assert helper.spec["search"] == {**raw["search"], "workers": 1, "helps": job.id,
                                     "ranges": {}}  # fmt: skip
    assert helper.submitted_by == "ana"
    assert f"ran 0 trials of the search of job {job.id}" in helper.log_tail
    mlflow.set_tracking_uri("")


class CancelAtTrial(Callback):
    """A user's cancel (or the worker's shutdown) while trial ``number`` trains."""

    def __init__(self, number: int, error: type = CancelledByUser) -> None:
        self.number, self.began, self.error = number, 0, error

    def on_train_begin(self, state: FitState) -> None:
        self.began += 1
        if self.began > self.number:
            raise self.error("stopped")


def test_a_cancelled_search_keeps_and_registers_its_best_trial_so_far(
    mlflow_home: Path, tmp_path: Path
) -> None:
    from dlstudio.search.study import run_search

    data = tmp_path / "customers.csv"
    make_customers().to_csv(data, index=False)
    spec = parse_spec({"data": {"path": str(data), "target": "churn"},
                       "training": {"preset": "fast", "epochs": 2}, "search": {"budget": "5"},
                       "tracking": {"register_as": "churn-cut"}})  # fmt: skip
    found = run_search(spec, callbacks=[CancelAtTrial(2)], report=lambda line: None)
    assert found.stopped_by == "cancelled"
    assert found.trials == 3 and found.pruned == 1  # two finished, the third cut short
    assert found.best_trial in (0, 1)
    assert found.best.registered["name"] == "churn-cut"
    assert found.best.registered["version"] == "1"
    runs = stored_runs(mlflow_home).set_index("run_id")
    assert runs.loc[found.runs[2], "status"] == "KILLED"
    assert runs.loc[found.parent_run_id, "status"] == "FINISHED"
    mlflow.set_tracking_uri("")


def test_a_search_stopped_with_its_worker_resumes_with_the_rest_of_its_budget(
    mlflow_home: Path, tmp_path: Path
) -> None:
    from dlstudio.search.study import run_search

    data = tmp_path / "customers.csv"
    make_customers().to_csv(data, index=False)
    spec = parse_spec({"data": {"path": str(data), "target": "churn"},
                       "training": {"preset": "fast", "epochs": 2},
                       "search": {"budget": "3"}})  # fmt: skip
    with pytest.raises(TrainingCancelled):  # SIGTERM in trial 1: the job goes back to the queue
        run_search(spec, callbacks=[CancelAtTrial(1, TrainingCancelled)], job_id="job1",
                   report=lambda line: None)  # fmt: skip
    lines: list[str] = []
    found = run_search(spec, job_id="job1", report=lines.append)  # the job, run again
    assert lines[0].startswith("resuming the search after ") and "(2 trials, 0 left" in lines[0]
    assert found.trials == 3 and found.failed == 1  # 0 done before, 1 stopped, 2 now
    assert set(found.runs) == {0, 1, 2}
    runs = stored_runs(mlflow_home).set_index("run_id")
    assert runs.loc[found.runs[1], f"tags.{TRIAL_STATE_TAG}"] == "failed"
    assert runs.loc[found.runs[1], "status"] == "KILLED"
    assert set(runs.loc[list(found.runs.values()), "tags.mlflow.parentRunId"]) == {
        found.parent_run_id
    }  # one parent: the search went on, it did not start over
    assert runs.loc[found.parent_run_id, "status"] == "FINISHED"
    mlflow.set_tracking_uri("")


def test_trials_a_killed_worker_left_running_are_closed_when_its_job_resumes(
    mlflow_home: Path,
) -> None:
    import optuna

    from dlstudio.search.shared import TRIAL_JOB, TRIAL_RUN, close_orphans, open_study
    from dlstudio.tracking.setup import configure_tracking

    settings = get_settings()
    configure_tracking(settings)
    client = mlflow.MlflowClient()
    study = open_study(job_id="j2", leader=None, direction="maximize", seed=0, settings=settings)
    mine, theirs = study.ask(), study.ask()  # both running; only the first is j2's
    run_id = client.create_run("0").info.run_id
    mine.set_user_attr(TRIAL_JOB, "j2")
    mine.set_user_attr(TRIAL_RUN, run_id)
    theirs.set_user_attr(TRIAL_JOB, "helper")
    assert close_orphans(study, "j2", client) == 1
    states = {t.number: t.state for t in study.get_trials()}
    assert states == {0: optuna.trial.TrialState.FAIL, 1: optuna.trial.TrialState.RUNNING}
    closed = client.get_run(run_id)
    assert closed.info.status == "FAILED" and closed.data.tags[TRIAL_STATE_TAG] == "failed"
    mlflow.set_tracking_uri("")


def test_cli_search_runs_trials_as_children_of_one_parent(
    mlflow_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "customers.csv"
    make_customers().to_csv(data, index=False)
    code = main(["train", "--data", str(data), "--target", "churn", "--preset", "fast",
                 "--set", "training.epochs=2", "--search", "3", "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert "trial 0 finished (val_f1_macro 0." in err and "; 3 of 3 trials" in err
    assert code == 0
    payload = json.loads(out)
    search = payload["search"]
    assert search["trials"] == 3 and search["stopped_by"] == "trials"
    assert search["objective"] == "val_f1_macro"
    assert 0 < search["best_value"] <= 1

    runs = stored_runs(mlflow_home).set_index("run_id")
    parent = runs.loc[search["parent_run_id"]]
    children = runs[runs["tags.mlflow.parentRunId"] == search["parent_run_id"]]
    assert len(children) == 3  # every trial is a run under the parent, none pruned this early
    assert set(children[f"tags.{TRIAL_STATE_TAG}"]) == {"complete"}
    best = children[children["tags.dlstudio.trial"] == str(search["best_trial"])].iloc[0]
    assert best.name == payload["run_id"] == parent["tags.dlstudio.search_best_run"]
    # trial 0 trains the preset as it is; the others sample the space
    preset = children[children["tags.dlstudio.trial"] == "0"].iloc[0]
    assert preset["params.training.learning_rate"] == "None"
    assert preset["params.options.network"] == "auto"
    # the parent carries the best trial's values and test metrics
    for path, value in search["best_params"].items():
        assert parent[f"params.{path}"] == str(value) == best[f"params.{path}"]
    assert parent["metrics.test_f1_macro"] == pytest.approx(payload["metrics"]["test_f1_macro"])
    assert parent["metrics.search_trials"] == 3
    assert parent["status"] == "FINISHED"
    mlflow.set_tracking_uri("")
    assert parent.name not in recent_runs(get_settings())["run"].tolist()  # no model to show

    # Results: the best trial's page lists every trial of its search
    trials = search_trials(get_settings(), payload["run_id"])
    assert trials.trials["trial"].tolist() == [0, 1, 2]
    assert set(trials.trials["state"]) == {"complete"}
    assert trials.preset_trials() == [0]
    assert (trials.trials.loc[0, trials.params] == "preset's").all()
    searched = ["training.learning_rate", "training.batch_size", "options.dropout",
                "options.network"]  # fmt: skip
    assert trials.params == searched
    chosen = trials.trials.set_index("trial").loc[search["best_trial"]]
    assert chosen["value"] == pytest.approx(search["best_value"])
    assert chosen["run_id"] == trials.best_run_id
    assert trials.best_so_far()["best"].is_monotonic_increasing
    assert trials.importance() == {}  # two sampled trials: too few for fANOVA
    # after the worker test: a page run by AppTest may still rerun in its thread as __main__,
    # and a worker's child process spawned meanwhile would start from that script
    app = AppTest.from_file(RESULTS, default_timeout=60)
    app.query_params["run"] = payload["run_id"]
    app.run()
    assert not app.exception, app.exception
    assert "Search" in [h.value for h in app.subheader]
    (table,) = [d.value for d in app.dataframe if "state" in d.value.columns]
    assert table["trial"].tolist() == [0, 1, 2] and table["best"].sum() == 1
    assert any("trial" in c.value and "3 trials" in c.value for c in app.caption)
    assert any("Trial 0 trains the preset's own settings" in c.value for c in app.caption)


def test_cli_refuses_a_bad_budget_before_anything_is_stored(
    mlflow_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "customers.csv"
    make_customers().to_csv(data, index=False)
    code = main(["train", "--data", str(data), "--target", "churn", "--search", "5x"])
    _, err = capsys.readouterr()
    assert code == 2
    message = error_message(err)
    assert "search.budget" in message and "not a time or a number of trials" in message
    assert stored_runs(mlflow_home).empty
    mlflow.set_tracking_uri("")


def test_importance_ranks_the_field_that_moved_the_score_and_skips_the_preset() -> None:
    from dlstudio.tracking.queries.search import PRESET, SearchTrials

    rates = [0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008]
    trials = pd.DataFrame({
        "trial": range(7), "state": "complete",
        "training.learning_rate": [PRESET, *map(str, rates)],
        "training.batch_size": [PRESET, "64", "512", "64", "512", "64", "512"],
        "value": [0.99, *(0.5 + 0.05 * i for i in range(6))],  # the score follows the rate
        "run_id": [f"r{i}" for i in range(7)],
    })  # fmt: skip
    search = SearchTrials(parent_id="p", experiment_id="1", objective="val_f1_macro",
                          maximize=True, best_run_id="r0", budget="5m",
                          params=["training.learning_rate", "training.batch_size"],
                          trials=trials, space=TRAINING_SPACE)  # fmt: skip
    assert search.preset_trials() == [0]
    importance = search.importance()
    assert next(iter(importance)) == "training.learning_rate"
    assert importance["training.learning_rate"] > 0.8
    assert sum(importance.values()) == pytest.approx(1.0)


def test_train_refuses_several_search_workers_and_says_to_submit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "customers.csv"
    make_customers().to_csv(data, index=False)
    code = main(["train", "--data", str(data), "--target", "churn", "--search", "5m",
                 "--search-workers", "2"])  # fmt: skip
    assert code == 2
    message = error_message(capsys.readouterr().err)
    assert "search.workers is 2" in message and "--search-workers 2" in message


def test_the_search_keeps_the_preset_unless_a_trial_is_clearly_better() -> None:
    import optuna

    from dlstudio.search.study import chosen_trial

    def trials(*values: float | None) -> list:
        done = optuna.trial.TrialState.COMPLETE
        return [optuna.trial.create_trial(value=v, state=done) if v is not None
                else optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED)
                for v in values]  # fmt: skip

    def numbered(values: list) -> list:
        for number, trial in enumerate(values):
            trial.number = number
        return values

    assert chosen_trial(numbered(trials(0.800, 0.805, None)), maximize=True).number == 0
    assert chosen_trial(numbered(trials(0.800, 0.790, 0.830)), maximize=True).number == 2
    assert chosen_trial(numbered(trials(1.00, 0.995, 0.95)), maximize=False).number == 2
    assert chosen_trial(numbered(trials(1.00, 0.995)), maximize=False).number == 0
    assert chosen_trial(numbered(trials(None, 0.7, 0.9)), maximize=True).number == 2
    assert chosen_trial(numbered(trials(None)), maximize=True) is None


def test_a_search_on_too_few_rows_is_refused_before_anything_is_stored(
    mlflow_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "tiny.csv"
    make_customers().head(12).to_csv(data, index=False)
    code = main(["train", "--data", str(data), "--target", "churn", "--search", "2"])
    assert code == 2
    assert "at least 20 are needed" in error_message(capsys.readouterr().err)
    assert stored_runs(mlflow_home).empty
    mlflow.set_tracking_uri("")


def test_the_docs_list_every_template_s_search_space_as_declared() -> None:
    from dlstudio.search.space import space_table

    docs = (Path(__file__).resolve().parents[2] / "docs" / "search.md").read_text()
    assert space_table() in docs, "regenerate: python -m dlstudio.search.space"
