"""What a search may change: spec fields with their ranges, declared once.

Every template searches ``TRAINING_SPACE`` (the training fields all templates share), so a
template added later gets search for free; a template may add its own fields as a
``search_space`` tuple. Forms, CLI help and docs read the same declarations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from dlstudio.errors import SpecError

SPACE_FILE = "search_space.json"  # the searched fields and ranges, logged on the parent run


@dataclass(frozen=True)
class SearchField:
    """One searchable spec field: a numeric range (``log`` for scale-free values such as
    learning rates) or a list of ``choices``."""

    path: str  # "section.field" of the RunSpec, e.g. "training.learning_rate"
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] = ()
    help: str = ""

    def suggest(self, trial: Any) -> Any:
        """This field's value for an Optuna ``trial``."""
        if self.choices:
            return trial.suggest_categorical(self.path, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.path, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.path, self.low, self.high, log=self.log)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "low": self.low, "high": self.high, "log": self.log,
                "integer": self.integer, "choices": list(self.choices)}  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SearchField:
        return cls(raw["path"], raw["low"], raw["high"], raw["log"], raw["integer"],
                   tuple(raw["choices"]))  # fmt: skip

    def distribution(self) -> Any:
        """Optuna's distribution of this field (to rebuild a study from logged trials)."""
        import optuna

        if self.choices:
            return optuna.distributions.CategoricalDistribution(list(self.choices))
        if self.integer:
            return optuna.distributions.IntDistribution(int(self.low), int(self.high), log=self.log)
        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.log)

    def parse(self, text: str) -> Any:
        """A value as MLflow logged it (text) -> the value Optuna sampled."""
        if self.choices:
            return next(c for c in self.choices if str(c) == text)
        return int(float(text)) if self.integer else float(text)

    def describe(self) -> str:
        """The range in words, for help texts: "0.0001 to 0.01 (log scale)", "64, 128 or 256"."""
        if self.choices:
            shown = [str(c) for c in self.choices]
            return ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else shown[0]
        scale = " (log scale)" if self.log else ""
        return f"{self.low:g} to {self.high:g}{scale}"


TRAINING_SPACE = (
    SearchField(
        "training.learning_rate", 1e-4, 1e-2, log=True,
        help="AdamW's step size: too high diverges, too low learns slowly.",
    ),
    SearchField(
        "training.batch_size", choices=(64, 128, 256, 512),
        help="Rows per step: smaller steps are noisier and often generalise better.",
    ),
)  # fmt: skip


# fields most templates add as their ``search_space``
DROPOUT = SearchField(
    "options.dropout", 0.0, 0.5,
    help="Share of units switched off at each step: more holds back a network that fits the "
    "training rows too closely (small data), less lets it use large data.",
)  # fmt: skip
TABULAR_NETWORK = SearchField(
    "options.network", choices=("mlp", "tabm"),
    help="A plain MLP (fast) or TabM (an efficient ensemble of MLPs over number embeddings).",
)  # fmt: skip
RECURRENT_CELL = SearchField(
    "options.cell", choices=("lstm", "gru"), help="The recurrent cell: LSTM or GRU."
)


# a pretrained text encoder is fine-tuned with small steps on small batches (the presets: 3e-5 to
# 1e-3, 16 to 64 texts); the networks trained from scratch take up to 3e-3
TEXT_TRAINING = (
    SearchField("training.learning_rate", 1e-5, 3e-3, log=True, help=TRAINING_SPACE[0].help),
    SearchField("training.batch_size", choices=(16, 32, 64, 128), help=TRAINING_SPACE[1].help),
)


# images fine-tune a pretrained network (the presets: 3e-4, 32 to 64 pictures a step; 512
# pictures of 224 px would not fit a CPU machine's memory)
IMAGE_TRAINING = (
    SearchField("training.learning_rate", 3e-5, 3e-3, log=True, help=TRAINING_SPACE[0].help),
    SearchField("training.batch_size", choices=(16, 32, 64), help=TRAINING_SPACE[1].help),
)


def search_space(task: str) -> tuple[SearchField, ...]:
    """The fields a search of ``task`` changes: the shared training fields (with the ranges the
    template gives for them, if any), then the template's own."""
    from dlstudio.tasks.registry import get_template

    own = {field.path: field for field in get_template(task).search_space}
    shared = tuple(own.pop(field.path, field) for field in TRAINING_SPACE)
    return shared + tuple(own.values())


def describe_space(task: str) -> str:
    """The space in words, for help texts: "learning_rate 0.0001 to 0.01 (log scale);
    batch_size 64, 128, 256 or 512; ..."."""
    return "; ".join(f"{f.path.split('.', 1)[1]} {f.describe()}" for f in search_space(task))


def space_table() -> str:
    """Every template's space as a Markdown table (docs/search.md holds it; a test checks it)."""
    from dlstudio.tasks.registry import task_names

    lines = ["| template | field | searched over | what it changes |", "|---|---|---|---|"]
    for task in task_names():
        for field in search_space(task):
            lines.append(f"| {task} | `{field.path}` | {field.describe()} | {field.help} |")
    return "\n".join(lines)


def narrowed(
    space: tuple[SearchField, ...], ranges: dict[str, tuple[float, float]]
) -> tuple[SearchField, ...]:
    """``space`` with the numeric ranges the user gave (field path -> (low, high)).

    Raises:
        SpecError: a field the template cannot search, a choice field given a range, or a
            range whose low end is above its high end (or not positive on a log scale).
    """
    by_path = {field.path: field for field in space}
    for path, (low, high) in ranges.items():
        field = by_path.get(path)
        if field is None:
            raise SpecError(
                f"{path!r} cannot be searched in this template.",
                fix=f"Search one of: {', '.join(by_path)}.",
            )
        if field.choices:
            raise SpecError(
                f"{path!r} is searched over the choices {field.describe()}, not a range.",
                fix=f"Leave {path!r} out of the ranges.",
            )
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise SpecError(
                f"The range of {path!r} runs from {low:g} down to {high:g}.",
                fix="Give the low end first: low <= high.",
            )
        if field.log and low <= 0:
            raise SpecError(
                f"{path!r} is searched on a log scale, so its range must be above 0 "
                f"(it starts at {low:g}).",
                fix=f"Start the range above 0, e.g. {field.low:g}.",
            )
        by_path[path] = replace(field, low=low, high=high)
    return tuple(by_path.values())


def with_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the raw spec ``raw`` with each "section.field" of ``values`` set."""
    result = {key: dict(section) if isinstance(section, dict) else section
              for key, section in raw.items()}  # fmt: skip
    for path, value in values.items():
        section, name = path.split(".", 1)
        result.setdefault(section, {})[name] = value
    return result


if __name__ == "__main__":  # python -m dlstudio.search.space > the table in docs/search.md
    print(space_table())
