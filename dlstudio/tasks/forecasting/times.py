"""The time column of a forecasting table read as datetimes: one format per column, refused with
an example of each when several are mixed, rows that are no date at all left out and reported."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from dlstudio.data.checks import Finding
from dlstudio.data.columns import date_format_of, present_values, to_datetime
from dlstudio.errors import DataError

# tried on times the column's own format cannot read, to tell a mix of formats from bad rows
# ("Jan 2024" is missing from the formats pandas guesses)
COMMON_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d %b %Y",
                       "%b %d, %Y", "%b %Y", "%B %Y", "%Y-%m-%d %H:%M", "%Y-%m")  # fmt: skip


def parse_times(column: pd.Series, name: str, date_format: str | None) -> pd.Series:
    """The column ``name`` as datetimes, read with ``date_format`` (None: already datetimes)."""
    with warnings.catch_warnings():  # pandas warns when no single format fits: we say it better
        warnings.simplefilter("ignore", UserWarning)
        times = to_datetime(column, date_format=date_format)
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert(None)
    written = _written(column)
    _refuse_mixed_formats(column, times, written, name, date_format)
    present = int(written.sum())
    if present == 0 or times.notna().sum() < 0.5 * present:
        example = present_values(column).astype(str).head(1).tolist()
        raise DataError(
            f"The time column {name!r} does not hold readable dates"
            + (f" (for example {example[0]!r})." if example else "."),
            fix="Write dates like 2024-01-31, 2024-01 or 31/01/2024, or pick another column "
            "with options.time_column.",
        )
    return times


def _written(column: pd.Series) -> np.ndarray:
    """Which cells hold something (blank text counts as empty), by position."""
    written = np.zeros(len(column), dtype=bool)
    written[present_values(column.reset_index(drop=True)).index] = True
    return written


def _refuse_mixed_formats(column: pd.Series, times: pd.Series, written: np.ndarray,
                          name: str, date_format: str | None) -> None:  # fmt: skip
    """DataError when the times the column's format cannot read are dates written another way:
    leaving them out would silently cut the series."""
    unreadable = written & times.isna().to_numpy()
    if not unreadable.any():
        return
    readable = column[times.notna().to_numpy()]
    found = _date_formats_in(column[unreadable].astype(str).str.strip())
    if len(readable):
        found.insert(0, (date_format, len(readable), str(readable.iloc[0]).strip()))
    if len(found) < 2:
        return
    kinds = [f"{n:,}{' rows' if i == 0 else ''} like {example!r}"
             for i, (_, n, example) in enumerate(found)]  # fmt: skip
    day_first = any(f and "%d" in f and "%m" in f and not f.startswith("%Y") for f, _, _ in found)
    raise DataError(
        f"The time column {name!r} mixes date formats: {', '.join(kinds[:-1])} and {kinds[-1]}.",
        fix="Write every date in one format (for example 2024-01-31) and load the file again"
        + ("; set options.day_first if the day comes first (31/01/2024)." if day_first else "."),
    )


def _date_formats_in(values: pd.Series) -> list[tuple[str | None, int, str]]:
    """The date formats of ``values`` as (format, rows, first example), most rows first;
    values in no known format (and plain numbers) are left out."""
    rows = values[pd.to_numeric(values, errors="coerce").isna()].value_counts(sort=False)
    found: list[tuple[str | None, int, str]] = []
    while len(rows) and len(found) < 3:  # a few formats are enough to show the mix
        date_format, read = _best_format(rows.index.to_series())
        if date_format is None:
            break
        found.append((date_format, int(rows[read].sum()), rows.index[read][0]))
        rows = rows[~read]
    return found


def _best_format(values: pd.Series) -> tuple[str | None, np.ndarray]:
    """The format (guessed from the values, or a common one) that reads most of ``values``,
    and which values it reads."""
    best: tuple[str | None, np.ndarray] = (None, np.zeros(len(values), dtype=bool))
    for date_format in dict.fromkeys([date_format_of(values), *COMMON_DATE_FORMATS]):
        if date_format is None:  # no format guessed from the values
            continue
        try:
            read = pd.to_datetime(values, format=date_format, errors="coerce").notna().to_numpy()
        except (ValueError, TypeError, OverflowError):  # e.g. mixed UTC offsets
            continue
        if read.sum() > best[1].sum():
            best = (date_format, read)
    return best


def unreadable_times(column: pd.Series, times: pd.Series, name: str) -> Finding:
    """A warning for rows left out for having no readable time (blank or not a date)."""
    bad = column[_written(column) & times.isna().to_numpy()].astype(str)
    count = int(times.isna().sum())
    return Finding(
        "warning",
        f"{count:,} rows have no readable time in {name!r}"
        + (f" (for example {bad.iloc[0]!r})" if len(bad) else "")
        + " and were left out.",
        "Fix or remove those rows; set options.day_first if dates read as day/month.",
        name,
    )
