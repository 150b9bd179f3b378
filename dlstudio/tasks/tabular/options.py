"""The options of the tabular classification template, and its RunSpec model."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from dlstudio.spec import FrozenModel, RunSpecBase


class TabularClassificationOptions(FrozenModel):
    """Options of the tabular classification template (an MLP over typed columns)."""

    features: list[str] | None = Field(
        default=None, description="Columns to use as inputs; all other usable columns when empty."
    )
    exclude: list[str] = Field(default_factory=list, description="Columns never used as inputs.")
    hidden_sizes: list[Annotated[int, Field(ge=1, le=8192)]] | None = Field(
        default=None, description="Width of each hidden layer; preset."
    )
    dropout: float | None = Field(default=None, ge=0, lt=1, description="Dropout rate; preset.")
    max_embedding_dim: int = Field(
        default=32, ge=1, le=512, description="Largest embedding size for a categorical column."
    )
    class_weight: Literal["auto", "balanced", "none"] = Field(
        default="auto",
        description="auto: weights 1/sqrt(class share) (helps rare classes without hurting "
        "accuracy much); balanced: 1/share; none: every row counts the same.",
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


class TabularClassificationSpec(RunSpecBase):
    """Predict a category (churn yes/no, product type, ...) from the other columns of a table."""

    task: Literal["tabular_classification"] = Field(
        default="tabular_classification", description="The task template to run."
    )
    options: TabularClassificationOptions = Field(
        default_factory=TabularClassificationOptions, description="The template's own options."
    )


SPEC = TabularClassificationSpec  # registered in dlstudio/tasks/registry.py
