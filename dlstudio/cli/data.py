"""``dlstudio data ...``: store uploads as named versions, list them, profile and check a table
or a ZIP of images, write the built-in samples."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dlstudio.cli.common import acting_name, add_command, audited_command
from dlstudio.cli.samples import add_sample_arguments, sample_command


def add_data_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``data add|list|profile|remove|sample`` under the top-level parser."""
    data = commands.add_parser("data", help="store, list and profile datasets")
    sub = data.add_subparsers(title="data commands", required=True)
    add = add_command(sub, "add", "store a file as a named, versioned dataset", _add)
    add.add_argument("name", help="dataset name (letters, digits, _ . -)")
    add.add_argument("path", help="CSV, Excel or Parquet file, or a ZIP of image class folders")
    listing = add_command(sub, "list", "list stored datasets and their versions", _list)
    listing.add_argument("--json", action="store_true")
    profile = add_command(sub, "profile", "column types, missing values, checks", _profile)
    profile.add_argument("source", help="a file path, or a stored dataset name[@version]")
    profile.add_argument("--target", help="the column to predict (adds target balance and checks)")
    profile.add_argument("--json", action="store_true")
    remove = add_command(sub, "remove", "delete a stored dataset and all its versions", _remove)
    remove.add_argument("name")
    sample = add_command(
        sub, "sample", "write a built-in sample to a file, or list them", sample_command
    )
    add_sample_arguments(sample)


def _add(args: argparse.Namespace) -> int:
    from dlstudio.data.store import DatasetStore

    path = Path(args.path)
    with audited_command("upload", f"dataset {args.name}", detail=f"file {path.name}") as done:
        stored = DatasetStore.default().save(args.name, path, filename=path.name,
                                             by=acting_name())  # fmt: skip
        done.target = f"dataset {stored.ref}"
    print(f"stored {stored.ref} ({stored.size_bytes:,} bytes); train with --dataset {stored.name}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from dlstudio.data.store import DatasetStore

    store = DatasetStore.default()
    rows = [
        {"name": v.name, "version": v.version, "file": v.filename, "created_at": v.created_at}
        for name in store.list_names()
        for v in store.versions(name)
    ]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    elif not rows:
        print("no datasets stored yet: dlstudio data add NAME FILE", file=sys.stderr)
    for row in rows if not args.json else []:
        print(f"{row['name']}@{row['version']}  {row['file']}  {row['created_at']}")
    return 0


def _profile(args: argparse.Namespace) -> int:
    from dlstudio.data.report import profile_source, report_images
    from dlstudio.settings import get_settings

    if _holds_images(args.source):
        report = report_images(args.source, task="image_classification", settings=get_settings())
    else:
        report = profile_source(args.source, target=args.target)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print(report.to_text())
    return 2 if any(f.level == "error" for f in report.findings) else 0


def _holds_images(source: str) -> bool:
    """A ZIP or folder path, or a stored dataset that is a ZIP of images."""
    from dlstudio.data.images import is_image_source
    from dlstudio.data.store import DatasetStore
    from dlstudio.errors import DLStudioError

    path = Path(source).expanduser()
    if path.exists():
        return is_image_source(path)
    if path.suffix or "/" in source:
        return False  # a missing file: the table reader says so
    try:
        return is_image_source(DatasetStore.default().resolve(source).path)
    except DLStudioError:
        return False  # an unknown name: the table reader says so


def _remove(args: argparse.Namespace) -> int:
    from dlstudio.data.store import DatasetStore

    store = DatasetStore.default()
    with audited_command("delete", f"dataset {args.name}", owner=store.owner(args.name)):
        store.delete(args.name)
    print(f"removed dataset {args.name!r}", file=sys.stderr)
    return 0
