"""The searchable fields and their ranges, declared once (templates name theirs here; nothing in
this module reads the templates, so they may import it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
