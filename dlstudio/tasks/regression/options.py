"""The options of the tabular regression template, and its RunSpec model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dlstudio.spec import RunSpecBase
from dlstudio.tasks.tabular.options import TabularOptions


class TabularRegressionOptions(TabularOptions):
    """Options of the tabular regression template (predict a number)."""

    loss: Literal["mse", "huber"] = Field(
        default="mse",
        description="mse: squared error (the mean); huber: less swayed by a few extreme rows.",
    )
    target_transform: Literal["auto", "none", "log"] = Field(
        default="auto",
        description="auto: train on log(1 + target) when the target is positive and strongly "
        "right-skewed (prices, counts); predictions are always in the target's own units.",
    )


class TabularRegressionSpec(RunSpecBase):
    """Predict a number (price, demand, days to close) from the other columns of a table."""

    task: Literal["tabular_regression"] = Field(
        default="tabular_regression", description="The task template to run."
    )
    options: TabularRegressionOptions = Field(
        default_factory=TabularRegressionOptions, description="The template's own options."
    )


SPEC = TabularRegressionSpec  # registered in dlstudio/tasks/registry.py
