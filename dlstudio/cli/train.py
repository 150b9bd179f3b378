"""``dlstudio train|submit|predict|schema``: train now or queue for a worker, predict, the spec."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from dlstudio.cli.common import acting_name, add_command, audited_command
from dlstudio.cli.preflight import check_before_training
from dlstudio.cli.spec_args import add_spec_arguments, build_spec


def add_train_command(commands: argparse._SubParsersAction) -> None:
    """Register ``train``."""
    add_spec_arguments(
        add_command(commands, "train", "train a model now and log it to MLflow", _train)
    )


def add_submit_command(commands: argparse._SubParsersAction) -> None:
    """Register ``submit`` (the flags of ``train``)."""
    add_spec_arguments(
        add_command(commands, "submit", "queue a training run for a worker", _submit)
    )


def add_predict_command(commands: argparse._SubParsersAction) -> None:
    """Register ``predict``."""
    command = add_command(commands, "predict", "predict new rows with a logged model", _predict)
    command.add_argument("--model", required=True, help="model URI, e.g. models:/churn@champion")
    command.add_argument(
        "--data",
        required=True,
        help="rows to predict (CSV, Excel, Parquet), or a ZIP or folder of images",
    )
    command.add_argument("--output", required=True, help="where to write (.csv or .parquet)")
    command.add_argument(
        "--explain",
        action="store_true",
        help="add reason_1..reason_3: the columns that raise or lower each prediction the most "
        "(tabular classification and regression models)",
    )


def add_schema_command(commands: argparse._SubParsersAction) -> None:
    """Register ``schema``."""
    add_command(commands, "schema", "print the JSON schema of a run spec", _schema)


def _train(args: argparse.Namespace) -> int:
    spec = build_spec(args)  # a bad spec or a missing file is told before torch is imported
    check_before_training(spec)  # so is a table without its target column

    from dlstudio.training import run
    from dlstudio.training.callbacks import ConsoleProgress

    with audited_command("train", _data_of(spec), detail=f"{spec.task}, in the foreground") as done:
        if spec.search is not None:
            return _search(spec, args)
        # Anything a library prints must not spoil the one JSON object on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result = run(spec, callbacks=[ConsoleProgress(sys.stderr)], user=acting_name())
        done.detail += f"; run {result.run_id}"
    if args.json:
        payload = result.to_json()
        print(json.dumps(payload, indent=2, default=str))
    else:
        _print_summary(result)
    return 0


def _search(spec: Any, args: argparse.Namespace) -> int:
    """``train --search``: the best trial's result, and the search's own figures."""
    from dlstudio.errors import DLStudioError, SpecError
    from dlstudio.search.study import run_search
    from dlstudio.training.callbacks import ConsoleProgress

    if spec.search.workers > 1:
        raise SpecError(
            f"search.workers is {spec.search.workers}, but train runs the search in this "
            "process, one trial at a time.",
            fix="Queue it for the workers instead: dlstudio submit ... --search-workers "
            f"{spec.search.workers} (and start as many workers with dlstudio worker).",
        )
    with contextlib.redirect_stdout(sys.stderr):
        found = run_search(
            spec, callbacks=[ConsoleProgress(sys.stderr)],
            report=lambda line: print(line, file=sys.stderr), user=acting_name(),
        )  # fmt: skip
    if found.best is None:
        raise DLStudioError(
            f"No trial finished within the budget ({spec.search.budget}): "
            f"{found.pruned} pruned, {found.failed} failed.",
            fix="Give the search more time, or train once without --search to see what fails.",
        )
    if args.json:
        payload = {**found.best.to_json(), "search": found.to_json()}
        print(json.dumps(payload, indent=2, default=str))
        return 0
    _print_summary(found.best)
    print(
        f"\nsearch: {found.trials} trials ({found.pruned} pruned, {found.failed} failed); best "
        f"trial {found.best_trial} with {found.objective} {found.best_value:.4f} on the "
        f"validation rows; parent run {found.parent_run_id}"
    )
    for path, value in found.best_params.items():
        print(f"  {path} = {value}")
    if found.best_trial == 0:
        print("  the preset's own settings (trial 0 trains them as they are)")
    return 0


def _print_summary(result: Any) -> None:
    for note in result.notes:
        print(f"note: {note}")
    for finding in result.findings:
        print(f"{finding.level}: {finding}")
    print(f"\nrun {result.run_id} (experiment {result.experiment_id}) on {result.device}")
    baseline = result.baseline["metrics"]
    print(f"{'metric':<22}{'model':>10}{result.baseline['name']:>24}")
    for key, value in result.metrics.items():
        if not key.startswith("test_"):  # the other baselines' own scores: in --json and MLflow
            continue
        print(f"{key:<22}{value:>10.4f}{baseline.get(key, float('nan')):>24.4f}")
    print(f"\n{result.verdict}")
    print(f"model: {result.model_uri}")
    if result.registered:
        print(f"registered: {result.registered['name']} version {result.registered['version']}")


def _submit(args: argparse.Namespace) -> int:
    spec = build_spec(args)  # refused here, with train's message, before anything is queued
    check_before_training(spec)

    from dlstudio.data.checks import raise_for_errors
    from dlstudio.jobs import JobStore
    from dlstudio.jobs.store import utc_now
    from dlstudio.settings import get_settings
    from dlstudio.training.runner import check_run

    raise_for_errors(check_run(spec, get_settings())[1])  # unreadable or untrainable data too
    with audited_command("train", _data_of(spec), detail=spec.task) as done:
        job = JobStore.from_settings(get_settings()).submit(
            spec.model_dump(mode="json"), submitted_by=acting_name(), now=utc_now()
        )
        done.detail += f"; job {job.id}"
    print(json.dumps({"job_id": job.id}) if args.json else job.id)
    return 0


def _data_of(spec: Any) -> str:
    return f"dataset {spec.data.dataset or spec.data.path or 'from a SQL query'}"


def _predict(args: argparse.Namespace) -> int:
    from dlstudio.predict import predict_file

    with audited_command("predict", args.model, detail=f"file {args.data}") as done:
        rows = predict_file(args.model, args.data, args.output, explain=args.explain)
        done.detail += f", {rows} rows"
    print(f"wrote {rows} predictions to {args.output}", file=sys.stderr)
    return 0


def _schema(args: argparse.Namespace) -> int:
    from dlstudio.spec import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))
    return 0
