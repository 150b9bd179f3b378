"""The options of the tabular templates (classification here, regression in
``dlstudio.tasks.regression``), and the classification RunSpec model."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from dlstudio.spec import FrozenModel, RunSpecBase


class TabularOptions(FrozenModel):
    """What both tabular templates share: which columns, which network, how to split."""

    features: list[str] | None = Field(
        default=None, description="Columns to use as inputs; all other usable columns when empty."
    )
    exclude: list[str] = Field(default_factory=list, description="Columns never used as inputs.")
    network: Literal["auto", "mlp", "tabm"] = Field(
        default="auto",
        description="auto: the preset's (fast: mlp; balanced, best: tabm); mlp: a plain MLP; "
        "tabm: TabM, an efficient ensemble of MLPs over piecewise-linear number embeddings.",
    )
    ensemble: bool | None = Field(
        default=None,
        description="Weigh the network, HistGradientBoosting and a linear model into one "
        "model on the validation rows, and register whichever wins there (preset: best).",
    )
    hidden_sizes: list[Annotated[int, Field(ge=1, le=8192)]] | None = Field(
        default=None, description="Width of each hidden layer; preset."
    )
    dropout: float | None = Field(default=None, ge=0, lt=1, description="Dropout rate; preset.")
    max_embedding_dim: int = Field(
        default=32, ge=1, le=512, description="Largest embedding size for a categorical column."
    )
    test_fraction: float = Field(
        default=0.2, gt=0, lt=0.5, description="Share held out for the test (when no test file)."
    )
    val_fraction: float = Field(
        default=0.15,
        gt=0,
        lt=0.5,
        description="Share of the training rows used for early stopping.",
    )


class TabularClassificationOptions(TabularOptions):
    """Options of the tabular classification template (an MLP over typed columns)."""

    class_weight: Literal["auto", "balanced", "none"] = Field(
        default="auto",
        description="auto: weights 1/sqrt(class share) (helps rare classes without hurting "
        "accuracy much); balanced: 1/share; none: every row counts the same.",
    )
    optimize: Literal["f1_macro", "accuracy", "f1_positive", "recall"] = Field(
        default="f1_macro",
        description="Two classes: the metric the decision threshold is tuned for on the "
        "validation rows (f1_positive: F1 of the positive class; recall: reach target_recall "
        "with as few false alarms as possible).",
    )
    target_recall: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="With optimize: recall, the share of the positive class to catch.",
    )
    positive_class: str | None = Field(
        default=None,
        description="Two classes: the class the threshold is about (churned, fraud...); "
        "the rarer class when empty.",
    )


class TabularClassificationSpec(RunSpecBase):
    """Predict a category (churn yes/no, product type, ...) from the other columns of a table."""

    task: Literal["tabular_classification"] = Field(
        default="tabular_classification", description="The task template to run."
    )
    options: TabularClassificationOptions = Field(
        default_factory=TabularClassificationOptions, description="The template's own options."
    )


SPEC = TabularClassificationSpec  # registered in dlstudio/tasks/registry.py
