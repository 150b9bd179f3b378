"""Run-spec flags shared by ``dlstudio train`` and ``dlstudio submit``, and the RunSpec they build."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dlstudio.errors import DataError

# the spec fields that name files; a relative one is read from the folder the command runs in
DATA_PATH_FIELDS = ("path", "test_path")


def add_spec_arguments(command: argparse.ArgumentParser) -> None:
    """The spec file and the flags that fill or override its fields."""
    command.add_argument("spec", nargs="?", help="YAML run spec; the flags below override it")
    command.add_argument("--task", help="task template, e.g. tabular_classification")
    command.add_argument("--data", help="data file (CSV, Excel, Parquet) -> data.path")
    command.add_argument("--dataset", help="stored dataset name[@version] -> data.dataset")
    command.add_argument("--test-data", help="separate test file -> data.test_path")
    command.add_argument("--target", help="column to predict -> data.target")
    command.add_argument("--sheet", help="Excel sheet -> data.sheet")
    command.add_argument("--preset", choices=["fast", "balanced", "best"], help="training.preset")
    command.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="e.g. training.epochs=5"
    )
    command.add_argument("--experiment", help="MLflow experiment -> tracking.experiment")
    command.add_argument("--register", help="register the model under NAME")
    command.add_argument(
        "--search",
        metavar="BUDGET",
        help="search hyperparameters instead of one training: a time ('5m', '1h') or a number "
        "of trials ('20') -> search.budget",
    )
    command.add_argument(
        "--search-workers",
        type=int,
        metavar="N",
        help="submit only: run N trials of the search at once, on N workers -> search.workers",
    )
    command.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_spec(args: argparse.Namespace) -> Any:
    """Spec file (if any), then flags, then ``--set`` overrides -> a validated RunSpec."""
    from dlstudio.spec import apply_overrides, parse_spec, read_spec_yaml

    raw: dict[str, Any] = read_spec_yaml(args.spec) if args.spec else {}
    flags = {
        ("task",): args.task,
        ("data", "path"): args.data,
        ("data", "dataset"): args.dataset,
        ("data", "test_path"): args.test_data,
        ("data", "target"): args.target,
        ("data", "sheet"): args.sheet,
        ("training", "preset"): args.preset,
        ("tracking", "experiment"): args.experiment,
        ("tracking", "register_as"): args.register,
        ("search", "budget"): args.search,
        ("search", "workers"): args.search_workers,
    }
    for keys, value in flags.items():
        if value is not None:
            section = raw
            for key in keys[:-1]:
                section = section.setdefault(key, {})
            section[keys[-1]] = value
    return parse_spec(resolve_data_paths(apply_overrides(raw, args.set), base=Path.cwd()))


def resolve_data_paths(raw: dict[str, Any], *, base: Path) -> dict[str, Any]:
    """``data.path`` and ``data.test_path`` made absolute against ``base`` and checked to exist.

    A job runs later, in a worker started in another folder: a relative path stored with it
    would point nowhere, so it is resolved when the job is made, and a missing file is refused
    then, before anything is queued (or any heavy library imported).

    Raises:
        DataError: a named file or folder does not exist.
    """
    data = raw.get("data")
    if not isinstance(data, dict):
        return raw
    resolved = dict(data)
    for field in DATA_PATH_FIELDS:
        if isinstance(data.get(field), str) and data[field].strip():
            resolved[field] = str(_existing(base / Path(data[field]).expanduser(), field))
    return {**raw, "data": resolved}


def _existing(path: Path, field: str) -> Path:
    if not path.exists():
        raise DataError(
            f"The data file {str(path)!r} (data.{field}) does not exist.",
            fix="check the path; a relative path is read from the folder you run dlstudio in",
        )
    return path.absolute()
