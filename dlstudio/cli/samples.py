"""``dlstudio data sample [NAME]``: list the templates' built-in samples, or write one to a file.

The samples are the ones the dashboard's "Use this sample" stores: a table is written as CSV,
the image sample as its ZIP of class folders, so the README's tour works on a fresh clone.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlstudio.errors import UsageError

if TYPE_CHECKING:
    from dlstudio.tasks.base import Sample


@dataclass(frozen=True)
class BuiltInSample:
    """A template's sample and the template that ships it."""

    task: str
    sample: Sample

    @property
    def suffix(self) -> str:
        return ".zip" if self.sample.archive is not None else ".csv"

    def content(self) -> bytes:
        if self.sample.archive is not None:
            return self.sample.archive
        return self.sample.frame.to_csv(index=False).encode("utf-8")


def add_sample_arguments(command: argparse.ArgumentParser) -> None:
    """NAME, ``--out``, ``--force`` and ``--list`` of ``data sample``."""
    command.add_argument("name", nargs="?", help="the sample to write; without it, list them")
    command.add_argument("--out", help="file to write (default: NAME.csv, or NAME.zip for images)")
    command.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    command.add_argument("--list", action="store_true", help="list the samples and stop")


def sample_command(args: argparse.Namespace) -> int:
    """List the samples, or write the one named ``args.name``."""
    samples = built_in_samples()
    if args.list or not args.name:
        for found in samples.values():
            print(f"{found.sample.name}  ({found.task})  {found.sample.description}")
        return 0
    found = _named(samples, args.name)
    path = Path(args.out).expanduser() if args.out else Path(f"{found.sample.name}{found.suffix}")
    write_sample(found, path, force=args.force)
    print(f"wrote {path}; {_next_step(found, path)}", file=sys.stderr)
    return 0


def built_in_samples() -> dict[str, BuiltInSample]:
    """Sample name -> the sample, for every registered template that ships one."""
    from dlstudio.tasks.registry import get_template, task_names

    samples = {}
    for task in task_names():
        sample = get_template(task).sample()
        if sample is not None:
            samples[sample.name] = BuiltInSample(task, sample)
    return samples


def write_sample(found: BuiltInSample, path: Path, *, force: bool = False) -> None:
    """Write the sample to ``path`` (CSV or ZIP); an existing file only with ``force``."""
    if path.suffix.lower() != found.suffix:
        raise UsageError(
            f"{found.sample.name!r} is written as {found.suffix}, not {path.suffix or 'no suffix'}",
            fix=f"name the file with {found.suffix}, e.g. --out {path.with_suffix(found.suffix)}",
        )
    if path.exists() and not force:
        raise UsageError(
            f"{str(path)!r} exists already", fix="pass --force to overwrite it, or --out FILE"
        )
    path.write_bytes(found.content())


def _named(samples: dict[str, BuiltInSample], name: str) -> BuiltInSample:
    if name not in samples:
        raise UsageError(
            f"no sample is called {name!r}",
            fix=f"use one of: {', '.join(samples)} (dlstudio data sample --list describes them)",
        )
    return samples[name]


def _next_step(found: BuiltInSample, path: Path) -> str:
    target = found.sample.roles.get("target")
    flag = f" --target {target}" if target else ""
    return f"look at it with: dlstudio data profile {path}{flag}"
