"""From a long table (time, value, optional series id and covariates) to regular series.

Every repair is reported, never silent: unparseable times, duplicated timestamps, gaps in the
timeline and missing values each become a finding that says what was done and how to change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.columns import (
    date_format_of,
    infer_column_type,
    to_numeric,
)
from dlstudio.errors import DataError
from dlstudio.tasks.forecasting.times import parse_times, unreadable_times

SINGLE_SERIES = "all"  # the series id shown when the file holds one series
TIME_NAMES = ("date", "time", "timestamp", "datetime", "ds", "period", "month", "day", "week")


@dataclass(frozen=True)
class Frequency:
    """The spacing of a series and what it implies (season, calendar features)."""

    name: str  # hourly, daily, weekly, monthly, quarterly, yearly
    season_length: int
    month_end: bool = False  # monthly/quarterly/yearly stamps on the last day of the period

    @property
    def offset(self) -> pd.DateOffset:
        """One step forward in time."""
        months = {"monthly": 1, "quarterly": 3, "yearly": 12}.get(self.name)
        if months is not None:
            return pd.offsets.MonthEnd(months) if self.month_end else pd.DateOffset(months=months)
        return pd.DateOffset(**{"hourly": {"hours": 1}, "daily": {"days": 1}}.get(
            self.name, {"weeks": 1}
        ))  # fmt: skip

    def steps(self, start: pd.Timestamp, count: int) -> pd.DatetimeIndex:
        """``count`` timestamps after ``start`` (exclusive)."""
        return pd.date_range(start, periods=count + 1, freq=self.offset)[1:]

    def calendar(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Cyclic calendar features (sine and cosine of the position in the day/week/year)."""
        cycles: list[np.ndarray] = []
        if self.name == "hourly":
            cycles += [times.hour / 24, times.dayofweek / 7]
        elif self.name == "daily":
            cycles += [times.dayofweek / 7, (times.dayofyear - 1) / 365.25]
        elif self.name == "weekly":
            cycles += [(times.dayofyear - 1) / 365.25]
        elif self.name == "monthly":
            cycles += [(times.month - 1) / 12]
        elif self.name == "quarterly":
            cycles += [(times.quarter - 1) / 4]
        columns = [
            f(2 * np.pi * np.asarray(c, dtype=float)) for c in cycles for f in (np.sin, np.cos)
        ]
        return np.stack(columns, axis=1) if columns else np.zeros((len(times), 0))

    def to_dict(self) -> dict:
        return {"name": self.name, "season_length": self.season_length, "month_end": self.month_end}

    @classmethod
    def from_dict(cls, raw: dict) -> Frequency:
        return cls(raw["name"], int(raw["season_length"]), bool(raw["month_end"]))


SEASONS = {"hourly": 24, "daily": 7, "weekly": 52, "monthly": 12, "quarterly": 4, "yearly": 1}
_DAYS = {"daily": 1, "weekly": 7, "monthly": 30.4, "quarterly": 91.3, "yearly": 365.25}


@dataclass(frozen=True)
class Layout:
    """Which columns hold what, and how the times are written (saved with the model)."""

    time: str
    target: str
    series: str | None
    covariates: tuple[str, ...]
    date_format: str | None  # None: the column already holds datetimes

    def to_dict(self) -> dict:
        return {**self.__dict__, "covariates": list(self.covariates)}

    @classmethod
    def from_dict(cls, raw: dict) -> Layout:
        return cls(**{**raw, "covariates": tuple(raw["covariates"])})

    @property
    def columns(self) -> list[str]:
        return [self.time, *([self.series] if self.series else []), self.target, *self.covariates]


@dataclass
class Series:
    """One regular series: a value per timestamp (missing ones filled), covariates aligned."""

    key: str
    times: pd.DatetimeIndex
    values: np.ndarray
    covariates: pd.DataFrame  # one row per timestamp, raw covariate values (filled)
    future: pd.DataFrame | None = None  # covariate rows after the last value (prediction only)

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Prepared:
    """All series of a file on one frequency, and what was repaired on the way."""

    series: list[Series]
    frequency: Frequency
    findings: list[Finding] = field(default_factory=list)


def guess_time_column(frame: pd.DataFrame) -> str | None:
    """A datetime column, preferring a conventional name; None when none parses as dates."""
    named = [c for c in frame.columns if str(c).strip().lower() in TIME_NAMES]
    for column in [*named, *[c for c in frame.columns if c not in named]]:
        if infer_column_type(frame[column].head(2000)).kind == "datetime":
            return column
    return None


def layout_of(frame: pd.DataFrame, *, time: str | None, target: str | None,
              series: str | None, covariates: list[str], day_first: bool) -> Layout:  # fmt: skip
    """Resolve the columns (guessing the time column when not given); DataError if unusable."""
    missing = [c for c in (time, target, series, *covariates) if c and c not in frame.columns]
    if missing:
        raise DataError(
            f"Column(s) {', '.join(map(repr, missing))} are not in the data.",
            fix=f"Use one of: {', '.join(map(str, frame.columns))}.",
        )
    if not target:
        raise DataError(
            "No target column was given: which column should be forecast?",
            fix="Pass --target COLUMN (a numeric column such as sales or demand).",
        )
    # a column named like a time column is read even when its dates are messy, so the error
    # that follows says what is wrong with them rather than that there are none
    candidates = frame.drop(columns=[target])
    time = time or guess_time_column(candidates) or _named_time_column(candidates)
    if time is None:
        raise DataError(
            "No column holds dates or times, so there is no timeline to forecast along.",
            fix="Add a date column (e.g. 2024-01-31 or 2024-01) and name it with "
            "options.time_column.",
        )
    overlap = {time, target} & ({series} | set(covariates))
    if time == target or overlap - {None}:
        raise DataError(
            "The time, target, series and covariate columns must all be different columns.",
            fix="Choose each column for one role only.",
        )
    return Layout(
        time, target, series, tuple(covariates), date_format_of(frame[time], day_first=day_first)
    )


def _named_time_column(frame: pd.DataFrame) -> str | None:
    named = [c for c in frame.columns if str(c).strip().lower() in TIME_NAMES]
    return named[0] if named else None


def read_series(frame: pd.DataFrame, layout: Layout, *, duplicates: str, fill: str,
                frequency: str | Frequency = "auto", season_length: int | None = None,
                keep_future: bool = False) -> Prepared:  # fmt: skip
    """Parse times and values, group by series, put each on a regular timeline and fill gaps.

    Raises:
        DataError: no parseable times, dates in mixed formats, a non-numeric target,
            duplicated timestamps (with ``duplicates="error"``) or timestamps off any regular
            grid.
    """
    findings: list[Finding] = []
    times = parse_times(frame[layout.time], layout.time, layout.date_format)
    values = _parse_target(frame[layout.target], layout.target)
    table = pd.DataFrame({"time": times, "value": values}, index=frame.index)
    table["series"] = frame[layout.series].astype(str) if layout.series else SINGLE_SERIES
    for name in layout.covariates:
        table[f"cov:{name}"] = frame[name]
    if table["time"].isna().any():
        findings.append(unreadable_times(frame[layout.time], times, layout.time))
    table = table.dropna(subset=["time"])
    table = _resolve_duplicates(table, duplicates, findings)
    freq = (
        frequency
        if isinstance(frequency, Frequency)
        else _frequency(table, frequency, season_length)
    )
    result = [
        _regular(key, part.sort_values("time"), freq, layout, fill, keep_future, findings)
        for key, part in table.groupby("series", sort=True)
    ]
    return Prepared([s for s in result if s is not None], freq, findings)


def _parse_target(column: pd.Series, name: str) -> pd.Series:
    values = to_numeric(column)
    present = column.notna() & (column.astype(str).str.strip() != "")
    bad = present & values.isna()
    if present.sum() == 0 or bad.sum() > 0.05 * present.sum():
        example = column[bad].astype(str).head(1).tolist()
        raise DataError(
            f"The target {name!r} must hold numbers to forecast"
            + (f"; it holds values like {example[0]!r}." if example else "; it is empty."),
            fix="Pick a numeric column (sales, demand, load) as the target.",
        )
    return values


def _resolve_duplicates(table: pd.DataFrame, policy: str, findings: list[Finding]) -> pd.DataFrame:
    repeated = table.duplicated(subset=["series", "time"], keep=False)
    if not repeated.any():
        return table
    first = table[repeated].iloc[0]
    where = "" if first["series"] == SINGLE_SERIES else f" of series {first['series']!r}"
    count = int(table[repeated].groupby(["series", "time"]).ngroups)
    if policy == "error":
        raise DataError(
            f"{count:,} timestamps appear more than once in one series (first: "
            f"{show_time(first['time'])}{where}).",
            fix="If the rows belong to different series (stores, products), name the series "
            "column with options.series_column; to combine them, set options.duplicates to "
            "sum, mean or last.",
        )
    findings.append(Finding(
        "info", f"{count:,} repeated timestamps were combined ({policy}).",
        "Change options.duplicates to combine them differently.",
    ))  # fmt: skip
    how = {"sum": "sum", "mean": "mean", "last": "last"}[policy]
    value = table.groupby(["series", "time"], sort=False)["value"].agg(how)
    rest = table.drop(columns="value").groupby(["series", "time"], sort=False).last()
    return rest.assign(value=value).reset_index()


def _frequency(table: pd.DataFrame, requested: str, season_length: int | None) -> Frequency:
    gaps = table.sort_values("time").groupby("series")["time"].diff().dropna()
    if requested == "auto":
        if gaps.empty:
            raise DataError(
                "Every series has a single point: there is nothing to learn a pattern from.",
                fix="Each series needs a history of many points (one row per period).",
            )
        requested = _name_of(gaps.median())
    stamps = table["time"]
    month_end = requested in ("monthly", "quarterly", "yearly") and bool(
        stamps.dt.is_month_end.all()
    ) and not bool((stamps.dt.day == 1).all())  # fmt: skip
    return Frequency(requested, season_length or SEASONS[requested], month_end)


def _name_of(gap: pd.Timedelta) -> str:
    days = gap / pd.Timedelta(days=1)
    if abs(days * 24 - 1) < 1e-9:
        return "hourly"
    for name, typical in _DAYS.items():
        if abs(days - typical) <= 0.1 * typical:
            return name
    raise DataError(
        f"The timestamps are {gap} apart, which is not hourly, daily, weekly, monthly, "
        "quarterly or yearly.",
        fix="Aggregate the data to one of those periods first (e.g. daily totals), or set "
        "options.frequency.",
    )


def _regular(key: str, part: pd.DataFrame, freq: Frequency, layout: Layout, fill: str,
             keep_future: bool, findings: list[Finding]) -> Series | None:  # fmt: skip
    """One series on its regular timeline, gaps and missing values filled by ``fill``."""
    known = part["value"].notna()
    if not known.any():
        findings.append(Finding("warning", f"Series {key!r} has no values; it was left out."))
        return None
    last_known = part.loc[known, "time"].iloc[-1]
    observed = part[part["time"] <= last_known]
    future = part[part["time"] > last_known]
    grid = pd.date_range(observed["time"].iloc[0], last_known, freq=freq.offset)
    off_grid = ~observed["time"].isin(grid)
    if off_grid.any():
        example = observed.loc[off_grid, "time"].iloc[0]
        raise DataError(
            f"The timestamps are irregular: {int(off_grid.sum()):,} of {len(observed):,} do not "
            f"fall on the {freq.name} grid that starts at {show_time(grid[0])} (first: "
            f"{show_time(example)}{'' if key == SINGLE_SERIES else f' in series {key!r}'}).",
            fix="Aggregate the data to regular periods first (e.g. daily totals), or set "
            "options.frequency to the spacing you mean.",
        )
    regular = observed.set_index("time").reindex(grid)
    gap_finding = _gaps(key, grid, observed, freq, fill, layout.target)
    if gap_finding is not None:
        findings.append(gap_finding)
    values = _fill(regular["value"], fill).to_numpy(dtype=float)
    covariates = pd.DataFrame(
        {name: _fill_covariate(regular[f"cov:{name}"]) for name in layout.covariates}, index=grid
    )
    future_covariates = None
    if keep_future and not future.empty:
        future_covariates = future.set_index("time")[[f"cov:{n}" for n in layout.covariates]]
        future_covariates.columns = list(layout.covariates)
    elif not future.empty and not keep_future:
        findings.append(Finding(
            "info", f"{len(future):,} rows after the last known value of series {key!r} have no "
            "target and were left out of training.",
        ))  # fmt: skip
    return Series(key, grid, values, covariates, future_covariates)


def _gaps(key: str, grid: pd.DatetimeIndex, observed: pd.DataFrame, freq: Frequency,
          fill: str, target: str) -> Finding | None:  # fmt: skip
    """What was filled: periods missing from the timeline and missing values, each with the
    first one, so the user can look them up."""
    missing_periods = grid[~grid.isin(observed["time"])]
    missing_values = pd.DatetimeIndex(observed.loc[observed["value"].isna(), "time"])
    parts = [
        f"{plural(len(stamps), noun)} (first: {show_time(stamps[0])})"
        for stamps, noun in [(missing_periods, "missing period"), (missing_values, "missing value")]
        if len(stamps)
    ]
    if not parts:
        return None
    where = "The" if key == SINGLE_SERIES else f"Series {key!r}: the"
    share = (len(missing_periods) + len(missing_values)) / len(grid)
    return Finding(
        "warning" if share > 0.1 else "info",
        f"{where} {freq.name} timeline has {' and '.join(parts)}, filled {_FILL_WORDS[fill]}.",
        "Change options.fill (interpolate, previous, zero) if another rule fits better.",
        target,
    )


def show_time(stamp: pd.Timestamp) -> str:
    """A timestamp as users write it: the date alone at midnight, else date and time."""
    stamp = pd.Timestamp(stamp)
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


def plural(n: int, noun: str) -> str:
    """``n`` and the noun, in the plural unless n is 1: "1 missing value", "2 missing values"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


_FILL_WORDS = {
    "interpolate": "by interpolating between neighbours",
    "previous": "with the previous value",
    "zero": "with zero",
}


def _fill(values: pd.Series, fill: str) -> pd.Series:
    if fill == "zero":
        return values.fillna(0.0)
    filled = values.interpolate(limit_direction="both") if fill == "interpolate" else values.ffill()
    return filled.bfill()


def _fill_covariate(column: pd.Series) -> pd.Series:
    """Covariates carry their last known value forward (the encoder converts them later)."""
    return column.ffill().bfill()
