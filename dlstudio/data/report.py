"""A data report for users: the profile plus the template's plain-language checks; for a ZIP
of image class folders, the images per class, a few thumbnails and the files left out."""

from __future__ import annotations

import zipfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.image_decode import decode_image
from dlstudio.data.profile import TableProfile, profile_table
from dlstudio.data.readers import LoadedTable, read_table
from dlstudio.data.store import DatasetStore
from dlstudio.errors import DataError, DLStudioError
from dlstudio.settings import Settings

# The fast preset's image size: the report's decoding is the one a fast run (and the Train
# page's check) finds in the cache. The checks find the same problems at any size.
CHECK_SIDE = 32
THUMBNAIL_SIDE = 96


@dataclass(frozen=True)
class DataReport:
    """What a user should know about a table before training on it."""

    source: str
    profile: TableProfile
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "rows": self.profile.n_rows,
            "columns": self.profile.to_frame().to_dict(orient="records"),
            "target": self.profile.target,
            "target_balance": self.profile.target_balance,
            "findings": [asdict(f) for f in self.findings],
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        lines = [f"{self.source}: {self.profile.n_rows:,} rows x {self.profile.n_columns} columns"]
        lines += [f"note: {note}" for note in self.notes]
        table = self.profile.to_frame().drop(columns=["target"], errors="ignore")
        lines += ["", table.to_string(index=False, max_colwidth=40)]
        if self.profile.target_balance:
            total = sum(self.profile.target_balance.values())
            lines += ["", f"target {self.profile.target!r}:"]
            lines += [
                f"  {label}: {count:,} ({count / total:.1%})"
                for label, count in self.profile.target_balance.items()
            ]
        lines += [""] + [f"{f.level}: {f}" for f in self.findings]
        if not any(f.level == "error" for f in self.findings):
            lines.append("ready to train" if self.profile.target else "choose a target to train")
        return "\n".join(lines)


def profile_source(source: str, *, target: str | None = None) -> DataReport:
    """Profile a file path or a stored dataset ref; with a target, run the tabular checks too."""
    path = Path(source).expanduser()
    if not path.exists():
        if path.suffix or "/" in source or "\\" in source:  # meant as a file, not a stored name
            raise DataError(f"The file {source!r} does not exist.", fix="check the path")
        path = DatasetStore.default().resolve(source).path
    return report_table(read_table(path), source=str(source), target=target)


def report_table(
    table: LoadedTable, *, source: str, target: str | None = None, task: str | None = None
) -> DataReport:
    """Profile a table already read; with a target, also run the template's checks.

    Args:
        table: the table, as ``read_table`` returned it.
        source: how the report names the table ("sales@1a2b3c4d5e6f", a path).
        target: the column to predict; None profiles the columns only.
        task: the template whose checks run (default: the spec's default template).
    """
    findings: tuple[Finding, ...] = ()
    if target is not None:
        from dlstudio.spec import parse_spec
        from dlstudio.tasks import get_template
        from dlstudio.tasks.base import TrainingData

        raw: dict = {"data": {"path": str(table.source), "target": target}}
        if task:
            raw["task"] = task
        template = get_template(parse_spec(raw).task)
        # the other roles (time, series, text column) as the template guesses them, as the
        # Train page does: checked as it would train, not as a bare table
        guessed = template.suggest_roles(table.frame)
        for role in template.roles:
            if role.key != "target" and guessed.get(role.key) not in (None, target):
                section, _, field = role.spec_path.partition(".")
                raw.setdefault(section, {})[field] = guessed[role.key]
        spec = parse_spec(raw)
        try:
            findings = tuple(template.check(TrainingData(table.frame), spec))
        except DLStudioError as exc:  # a template whose check stops at the first problem
            findings = (Finding("error", exc.message, exc.fix),)
        if any(f.level == "error" and f.column == target for f in findings):
            target = None  # a missing target: profile without it, the finding says why
    profile = profile_table(table.frame, target=target)
    return DataReport(source, profile, findings, table.notes)


def suggest_target(frame: pd.DataFrame, *, task: str) -> str:
    """The column the template guesses a user wants to predict, else the last column."""
    from dlstudio.tasks import get_template

    guess = get_template(task).suggest_roles(frame).get("target")
    return str(guess) if guess is not None else str(frame.columns[-1])


@dataclass(frozen=True)
class ImageReport:
    """What a user should know about a ZIP of image class folders before training on it."""

    source: str
    class_counts: dict[str, int]  # readable images per class (listed ones when unreadable)
    split_counts: dict[str, int]  # images per train/val/test folder; empty without them
    skipped: tuple[tuple[str, str], ...]  # (file, why) of the files training leaves out
    findings: tuple[Finding, ...]
    thumbnails: dict[str, list[np.ndarray]]  # the first images of the first classes, RGB uint8

    @property
    def n_images(self) -> int:
        return sum(self.class_counts.values())

    @property
    def n_classes(self) -> int:
        return len(self.class_counts)

    @property
    def ready(self) -> bool:
        """No finding blocks training."""
        return not any(f.level == "error" for f in self.findings)

    def to_json(self) -> dict:
        """Everything but the thumbnails, as plain JSON."""
        return {
            "source": self.source, "images": self.n_images, "classes": self.class_counts,
            "splits": self.split_counts, "skipped": [list(item) for item in self.skipped],
            "findings": [asdict(f) for f in self.findings],
        }  # fmt: skip

    def to_text(self) -> str:
        lines = [f"{self.source}: {self.n_images:,} images in {self.n_classes} classes"]
        lines += [f"  {label}: {count:,}" for label, count in self.class_counts.items()]
        if self.split_counts:
            lines.append(
                "split folders: " + ", ".join(f"{k} {v:,}" for k, v in self.split_counts.items())
            )
        if self.skipped:
            lines += ["", f"left out ({len(self.skipped):,}):"]
            lines += [f"  {name}: {why}" for name, why in self.skipped]
        lines += [""] + [f"{f.level}: {f}" for f in self.findings]
        return "\n".join(lines).rstrip()

    def skipped_table(self) -> pd.DataFrame:
        """The files left out, with why: file, problem."""
        return pd.DataFrame(list(self.skipped), columns=["file", "problem"])


def report_images(
    ref: str, *, task: str, settings: Settings, per_class: int = 4, max_classes: int = 12
) -> ImageReport:
    """Read a stored ZIP of image class folders as ``task`` would, and report on it.

    Args:
        ref: the stored dataset, ``name@version``, or the path of a ZIP or folder.
        task: the template whose checks run (one that reads images).
        settings: where the store and the cache of decoded images are.
        per_class: thumbnails per class.
        max_classes: thumbnails of the first classes only (by name): a page stays short.

    Raises:
        DataError: the dataset cannot be listed at all (not a ZIP, no class folders), or it
            is a table.
    """
    from dlstudio.data.sources import load_data
    from dlstudio.spec import parse_spec
    from dlstudio.tasks import get_template

    where = {"path": ref} if Path(ref).expanduser().exists() else {"dataset": ref}
    spec = parse_spec({"task": task, "data": where, "training": {"preset": "fast"}})
    data = load_data(spec.data, settings).data
    if data.images is None:
        raise DataError(f"{ref} is a table, not images.", fix="Look at it as a table.")
    findings = tuple(get_template(task).check(data, spec))
    listing = data.frame  # image, label, split: every image file in a class folder
    splits = Counter(listing["split"].dropna())
    try:  # the check decoded them already: this read comes from the cache
        folder = data.images.read(size=CHECK_SIDE)
    except DataError:  # the findings say why; count what the ZIP lists instead
        counts = Counter(listing["label"])
        return ImageReport(ref, dict(sorted(counts.items())), dict(splits), (), findings, {})
    names: dict[str, list[str]] = {label: [] for label in folder.classes}
    for name, label in zip(folder.names, folder.labels, strict=True):
        names[label].append(name)
    return ImageReport(
        source=ref,
        class_counts={label: len(files) for label, files in names.items()},
        split_counts=dict(splits),
        skipped=tuple(folder.skipped),
        findings=findings,
        thumbnails=_thumbnails(
            data.images.path, {k: v[:per_class] for k, v in list(names.items())[:max_classes]}
        ),
    )


def _thumbnails(path: Path, names: dict[str, list[str]]) -> dict[str, list[np.ndarray]]:
    """Decode the named images again, larger than the check's size, to show them. They were
    read once already, so they are safe entries that decode."""
    with zipfile.ZipFile(path) as archive:
        return {
            label: [
                decode_image(archive.read(name), size=THUMBNAIL_SIDE, channels=3) for name in files
            ]
            for label, files in names.items()
        }
