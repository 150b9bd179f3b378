"""Reading long tables into regular series: parsing, frequencies, repairs and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlstudio.errors import DataError
from dlstudio.tasks.forecasting.data import layout_of, read_series


def monthly(n: int = 48, *, start: str = "2019-01-01") -> pd.DataFrame:
    months = pd.date_range(start, periods=n, freq="MS")
    return pd.DataFrame({"month": months.strftime("%Y-%m"), "sales": np.arange(n) + 100.0})


def read(frame: pd.DataFrame, *, target: str = "sales", time: str | None = None,
         series: str | None = None, covariates: list[str] = (), day_first: bool = False,
         duplicates: str = "error", fill: str = "interpolate", frequency: str = "auto"):  # fmt: skip
    layout = layout_of(frame, time=time, target=target, series=series,
                       covariates=list(covariates), day_first=day_first)  # fmt: skip
    return read_series(frame, layout, duplicates=duplicates, fill=fill, frequency=frequency)


@pytest.mark.parametrize(
    ("stamps", "name", "season"),
    [
        (pd.date_range("2024-01-01", periods=30, freq="h"), "hourly", 24),
        (pd.date_range("2024-01-01", periods=30, freq="D"), "daily", 7),
        (pd.date_range("2024-01-07", periods=30, freq="W-SUN"), "weekly", 52),
        (pd.date_range("2020-01-01", periods=30, freq="MS"), "monthly", 12),
        (pd.date_range("2020-01-31", periods=30, freq="ME"), "monthly", 12),
        (pd.date_range("2000-01-01", periods=30, freq="QS"), "quarterly", 4),
        (pd.date_range("1990-01-01", periods=30, freq="YS"), "yearly", 1),
    ],
)
def test_frequency_and_season_are_read_from_the_timestamps(stamps, name, season) -> None:
    frame = pd.DataFrame({"when": stamps.strftime("%Y-%m-%d %H:%M"), "sales": range(30)})
    prepared = read(frame)
    assert (prepared.frequency.name, prepared.frequency.season_length) == (name, season)
    assert list(prepared.series[0].times) == list(stamps)
    assert prepared.findings == []


def test_year_month_dates_and_a_guessed_time_column() -> None:
    prepared = read(monthly(24))
    (series,) = prepared.series
    assert series.times[0] == pd.Timestamp("2019-01-01")
    assert series.values[:3].tolist() == [100.0, 101.0, 102.0]


def test_day_first_dates_follow_the_option() -> None:
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    frame = pd.DataFrame({"date": days.strftime("%d/%m/%Y"), "sales": range(40)})
    prepared = read(frame, day_first=True)
    assert prepared.frequency.name == "daily"
    assert prepared.series[0].times[11] == pd.Timestamp("2024-01-12")
    # 01/01/2024 .. 12/01/2024 alone read month-first are the first days of twelve months
    assert read(frame.head(12)).frequency.name == "monthly"


def test_gaps_and_missing_values_are_filled_and_reported() -> None:
    frame = monthly(24).drop(index=[5, 6]).reset_index(drop=True)
    frame.loc[10, "sales"] = None
    prepared = read(frame)
    (series,) = prepared.series
    assert len(series) == 24
    assert series.values[5] == pytest.approx(105.0)  # interpolated on a straight line
    assert [f.message for f in prepared.findings] == [
        "The monthly timeline has 2 missing periods (first: 2019-06-01) and 1 missing value "
        "(first: 2020-01-01), filled by interpolating between neighbours."
    ]


def test_fill_zero_fills_gaps_with_zero() -> None:
    frame = monthly(24).drop(index=[5]).reset_index(drop=True)
    assert read(frame, fill="zero").series[0].values[5] == 0.0


def test_duplicated_timestamps_stop_with_the_options_to_combine_them() -> None:
    frame = pd.concat([monthly(24), monthly(24).tail(1)])
    with pytest.raises(DataError) as caught:
        read(frame)
    assert "1 timestamps appear more than once" in caught.value.message
    assert "options.duplicates" in caught.value.fix
    assert read(frame, duplicates="sum").series[0].values[-1] == 2 * 123.0


def test_several_series_are_read_separately() -> None:
    frame = pd.concat([monthly(24).assign(store="a"), monthly(30).assign(store="b")])
    prepared = read(frame, series="store")
    assert [(s.key, len(s)) for s in prepared.series] == [("a", 24), ("b", 30)]


def test_no_parseable_time_column() -> None:
    frame = pd.DataFrame({"label": ["x", "y", "z"] * 10, "sales": range(30)})
    with pytest.raises(DataError) as caught:
        read(frame)
    assert caught.value.message.startswith("No column holds dates or times")


def test_a_named_time_column_that_holds_no_dates() -> None:
    frame = pd.DataFrame({"label": ["x", "y", "z"] * 10, "sales": range(30)})
    with pytest.raises(DataError) as caught:
        read(frame, time="label")
    assert "does not hold readable dates (for example 'x')" in caught.value.message


def test_non_numeric_target() -> None:
    frame = monthly(24).assign(sales=["high", "low"] * 12)
    with pytest.raises(DataError) as caught:
        read(frame)
    assert caught.value.message == (
        "The target 'sales' must hold numbers to forecast; it holds values like 'high'."
    )


def test_irregular_timestamps_are_refused_with_the_first_offender() -> None:
    days = list(pd.date_range("2024-01-01", periods=30, freq="D"))
    days[7] = days[7] + pd.Timedelta(hours=5)
    frame = pd.DataFrame({"t": [d.strftime("%Y-%m-%d %H:%M") for d in days], "sales": range(30)})
    with pytest.raises(DataError) as caught:
        read(frame)
    assert caught.value.message.startswith("The timestamps are irregular: 1 of 30 do not fall")
    assert "2024-01-08 05:00:00" in caught.value.message


def test_spacing_that_is_no_known_frequency() -> None:
    stamps = pd.date_range("2024-01-01", periods=30, freq="3D")
    frame = pd.DataFrame({"t": stamps.strftime("%Y-%m-%d"), "sales": range(30)})
    with pytest.raises(DataError) as caught:
        read(frame)
    assert "not hourly, daily, weekly, monthly, quarterly or yearly" in caught.value.message


def test_trailing_rows_without_a_target_are_future_rows() -> None:
    frame = monthly(24)
    frame["promo"] = [0, 1] * 12
    future = pd.DataFrame({"month": ["2021-01", "2021-02"], "sales": [None, None], "promo": [1, 0]})
    prepared = read(pd.concat([frame, future]), covariates=["promo"])
    (series,) = prepared.series
    assert len(series) == 24
    assert "2 rows after the last known value" in prepared.findings[0].message
