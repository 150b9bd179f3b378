"""Whether the prepared series are long enough to forecast, and how Holt-Winters will model
their season: checked before any training time is spent."""

from __future__ import annotations

import numpy as np

from dlstudio.data.checks import Finding
from dlstudio.errors import DataError
from dlstudio.tasks.forecasting.data import SINGLE_SERIES, Prepared, Series, plural, show_time

NAMED = 5  # series named in one finding; the rest are counted


def minimum_length(season_length: int, horizon: int) -> int:
    """The shortest series worth forecasting: two seasons to learn the season from (Holt-Winters
    fits no season on less), then the horizon to check the forecast against."""
    return 2 * season_length + horizon


def shape_findings(prepared: Prepared, *, horizon: int, season_length: int) -> list[Finding]:
    """Raises DataError for a horizon longer than every series' history; returns the info
    findings of series whose season Holt-Winters must model additively. (Series too short for
    the split are refused or left out by ``plan``, which states the minimum it needs.)"""
    if not prepared.series:
        raise DataError(
            "No series has a value with a readable time, so there is nothing to forecast from.",
            fix="Check that the rows with numbers in the target also have a date.",
        )
    _refuse_horizon_beyond_history(prepared.series, horizon, season_length)
    return _additive_season(prepared.series, season_length)


def _refuse_horizon_beyond_history(series: list[Series], horizon: int, season: int) -> None:
    longest = max(len(s) for s in series)
    if horizon <= longest:
        return
    history = (
        f"the series has {longest:,} points"
        if len(series) == 1
        else f"the longest of {len(series)} series has {longest:,} points"
    )
    raise DataError(
        f"The horizon of {horizon:,} steps is longer than the history: {history}.",
        fix=_length_fix(longest, season),
    )


def _length_fix(longest: int, season: int) -> str:
    most = longest - 2 * season  # the longest horizon that leaves two seasons to learn from
    if most >= 1:
        return f"Lower options.horizon to {most:,} or less, or use a longer history."
    return (
        f"Use a longer history: even one step ahead needs {minimum_length(season, 1):,} points "
        f"with a season of {season} steps (set options.season_length if the season is shorter)."
    )


def _additive_season(series: list[Series], season: int) -> list[Finding]:
    """Holt-Winters multiplies the season into positive series (swings grow with the level);
    a zero or negative value rules that out, so it adds the season instead."""
    if season < 2:
        return []
    affected = [s for s in series if np.any(s.values <= 0)]
    if not affected:
        return []
    if len(affected) == 1:
        (one,) = affected
        not_positive = one.values <= 0
        subject = "The series" if one.key == SINGLE_SERIES else f"Series {one.key!r}"
        what = (
            f"{subject} has {plural(int(not_positive.sum()), 'zero or negative value')} (first: "
            f"{show_time(one.times[np.argmax(not_positive)])}), so Holt-Winters (ETS) "
            "models its season"
        )
    else:
        what = (
            f"{len(affected)} series have zero or negative values ({_names(affected)}), so "
            "Holt-Winters (ETS) models their season"
        )
    return [Finding(
        "info",
        f"{what} as additive (swings of a fixed size) rather than multiplicative (swings that "
        "grow with the level).",
        "Nothing to change if the values are real (no sales that day); if they stand for "
        "missing data, leave those cells empty so options.fill fills them.",
    )]  # fmt: skip


def _names(series: list[Series]) -> str:
    shown = ", ".join(repr(s.key) for s in series[:NAMED])
    return shown + (f" and {len(series) - NAMED} more" if len(series) > NAMED else "")
