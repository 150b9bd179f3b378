"""The options of the forecasting template, and its RunSpec model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dlstudio.spec import FrozenModel, RunSpecBase

Frequency = Literal["auto", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly"]


class ForecastingOptions(FrozenModel):
    """Options of the forecasting template (an LSTM/GRU over a window of past values)."""

    time_column: str | None = Field(
        default=None, description="Column with the dates or times; guessed when empty."
    )
    series_column: str | None = Field(
        default=None,
        description="Column naming the series (store, product...) when the file holds several; "
        "one model learns them all.",
    )
    covariates: list[str] = Field(
        default_factory=list,
        description="Columns known ahead of time (promotions, holidays, weather forecast) that "
        "help predict the target; their future values are needed to forecast.",
    )
    frequency: Frequency = Field(
        default="auto", description="Spacing of the timestamps; auto: read from the data."
    )
    season_length: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Steps in one season (12 for monthly, 7 for daily...); from the frequency.",
    )
    horizon: int | None = Field(
        default=None, ge=1, le=1000, description="Steps to forecast; one season when empty."
    )
    lookback: int | None = Field(
        default=None,
        ge=2,
        le=5000,
        description="Past steps the model reads; a few seasons when empty.",
    )
    day_first: bool = Field(
        default=False, description="Read ambiguous dates like 03/04/2024 as 3 April (day first)."
    )
    duplicates: Literal["error", "sum", "mean", "last"] = Field(
        default="error",
        description="Several rows with the same time in one series: stop (error), add them up "
        "(sum), average them (mean) or keep the last.",
    )
    fill: Literal["interpolate", "previous", "zero"] = Field(
        default="interpolate",
        description="How missing values and gaps in the timeline are filled: interpolate "
        "between neighbours, repeat the previous value, or zero (e.g. no sales that day).",
    )
    cell: Literal["lstm", "gru"] = Field(default="lstm", description="Recurrent cell type.")
    hidden_size: int | None = Field(
        default=None, ge=4, le=2048, description="Units of the recurrent layer; preset."
    )
    layers: int | None = Field(default=None, ge=1, le=4, description="Recurrent layers; preset.")
    dropout: float | None = Field(default=None, ge=0, lt=1, description="Dropout rate; preset.")
    ensemble: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="Networks trained side by side and averaged (steadier forecasts, longer "
        "training); preset: 1 fast, 3 balanced, 5 best.",
    )
    target_transform: Literal["auto", "none", "log"] = Field(
        default="auto",
        description="log: model the logarithm (seasonal swings that grow with the level); auto: "
        "log for positive series whose swings grow with the level.",
    )
    quantiles: bool = Field(
        default=True, description="Also forecast p10 and p90: an 80% prediction interval."
    )
    test_fraction: float = Field(
        default=0.2,
        gt=0,
        lt=0.5,
        description="Last share of each series used for the backtest against the baselines.",
    )


class ForecastingSpec(RunSpecBase):
    """Forecast the next values of one or many time series (sales, demand, load)."""

    task: Literal["forecasting"] = Field(
        default="forecasting", description="The task template to run."
    )
    options: ForecastingOptions = Field(
        default_factory=ForecastingOptions, description="The template's own options."
    )


SPEC = ForecastingSpec  # registered in dlstudio/tasks/registry.py
