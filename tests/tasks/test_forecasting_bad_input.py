"""Forecasting with bad input (issue 17): each problem says what is wrong, where and how to fix
it; through the CLI it exits with code 2 and stores nothing."""

from __future__ import annotations

import os
import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from dlstudio.cli import main
from dlstudio.errors import DataError
from dlstudio.tasks.forecasting.checks import minimum_length, shape_findings
from dlstudio.tasks.forecasting.data import (
    Frequency,
    Prepared,
    layout_of,
    read_series,
)


def months(n: int, *, start: str = "2020-01-01", seed: int = 0) -> pd.DataFrame:
    """A positive monthly series (first of the month) with a yearly season."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    sales = 100 + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)
    stamps = pd.date_range(start, periods=n, freq="MS")
    return pd.DataFrame({"month": stamps.strftime("%Y-%m-%d"), "sales": sales.round(1)})


def days(n: int) -> pd.DataFrame:
    stamps = pd.date_range("2024-01-01", periods=n, freq="D")
    return pd.DataFrame({"day": stamps.strftime("%Y-%m-%d %H:%M"), "sales": 50.0 + np.arange(n)})


def mixed_dates(n: int = 36) -> pd.DataFrame:
    """Month-end dates mostly as 2021-01-31, two as 31/01/2021 and one as Jan 2021."""
    ends = pd.date_range("2021-01-31", periods=n, freq="ME")
    written = list(ends.strftime("%Y-%m-%d"))
    written[25], written[26] = ends[25].strftime("%d/%m/%Y"), ends[26].strftime("%d/%m/%Y")
    written[30] = ends[30].strftime("%b %Y")
    return pd.DataFrame({"date": written, "sales": 100.0 + np.arange(n)})


def read(frame: pd.DataFrame, *, time: str | None = None, series: str | None = None,
         duplicates: str = "error") -> Prepared:  # fmt: skip
    layout = layout_of(frame, time=time, target="sales", series=series, covariates=[],
                       day_first=False)  # fmt: skip
    return read_series(frame, layout, duplicates=duplicates, fill="interpolate")


def refused(frame: pd.DataFrame, **options) -> DataError:
    with pytest.raises(DataError) as caught:
        read(frame, **options)
    return caught.value


def shape_refused(prepared: Prepared, *, horizon: int, season_length: int) -> DataError:
    with pytest.raises(DataError) as caught:
        shape_findings(prepared, horizon=horizon, season_length=season_length)
    return caught.value


# --- through the CLI: exit code 2, one clear error, nothing stored -----------------------------


def train(tmp_path: Path, capsys: pytest.CaptureFixture[str], frame: pd.DataFrame,
          **options) -> tuple[int, str]:  # fmt: skip
    """Train from a spec YAML over ``frame`` as CSV; the exit code and the error message."""
    data = tmp_path / "sales.csv"
    frame.to_csv(data, index=False)
    spec = tmp_path / "run.yaml"
    spec.write_text(yaml.safe_dump({
        "task": "forecasting",
        "data": {"path": str(data), "target": "sales"},
        "training": {"preset": "fast", "epochs": 1},
        "options": options,
    }))  # fmt: skip
    code = main(["train", str(spec)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: "), err
    return code, err.removeprefix("error: ")


def assert_nothing_stored(home: Path) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # set_tracking_uri exports it; the CLI would obey
    assert mlflow.search_runs(search_all_experiments=True).empty
    assert mlflow.search_registered_models() == []
    assert not (home / "checkpoints").exists()


def test_cli_duplicated_timestamps(tmp_path, capsys, mlflow_home) -> None:
    frame = months(40)
    code, message = train(tmp_path, capsys, pd.concat([frame, frame.iloc[[27]]]))
    assert code == 2
    assert "1 timestamps appear more than once in one series (first: 2022-04-01)" in message
    assert "How to fix:" in message and "options.duplicates to sum, mean or last" in message
    assert_nothing_stored(mlflow_home)


def test_cli_irregular_timestamps(tmp_path, capsys, mlflow_home) -> None:
    frame = days(60)
    frame.loc[7, "day"] = "2024-01-08 05:00"
    code, message = train(tmp_path, capsys, frame)
    assert code == 2
    assert "do not fall on the daily grid that starts at 2024-01-01" in message
    assert "(first: 2024-01-08 05:00:00)" in message
    assert "How to fix:" in message and "options.frequency" in message
    assert_nothing_stored(mlflow_home)


def test_cli_too_short_a_series_states_the_minimum(tmp_path, capsys, mlflow_home) -> None:
    code, message = train(tmp_path, capsys, months(30))
    assert code == 2
    assert message.startswith("The series has 30 points;")
    needed = int(re.search(r"needs at least ([\d,]+)", message).group(1).replace(",", ""))
    assert needed >= minimum_length(12, 12)
    fix = message.split("How to fix: ")[1]
    assert "longer history" in fix and "options.horizon" in fix
    assert_nothing_stored(mlflow_home)


def test_cli_horizon_longer_than_the_history(tmp_path, capsys, mlflow_home) -> None:
    code, message = train(tmp_path, capsys, months(60), horizon=100)
    assert code == 2
    assert "60 points" in message and "100 steps" in message
    assert "options.horizon" in message.split("How to fix: ")[1]
    assert_nothing_stored(mlflow_home)


def test_cli_mixed_date_formats(tmp_path, capsys, mlflow_home) -> None:
    code, message = train(tmp_path, capsys, mixed_dates(), time_column="date")
    assert code == 2
    assert message.startswith(
        "The time column 'date' mixes date formats: 33 rows like '2021-01-31', 2 like "
        "'28/02/2023' and 1 like 'Jul 2023'."
    )
    assert "How to fix: Write every date in one format" in message
    assert "options.day_first" in message
    assert_nothing_stored(mlflow_home)


# --- duplicated timestamps -------------------------------------------------------------------


def test_duplicates_are_counted_and_the_first_is_named_with_its_series() -> None:
    north, south = months(24).assign(store="north"), months(24).assign(store="south")
    frame = pd.concat([north, south, south.iloc[[3, 5]]])
    error = refused(frame, series="store")
    assert error.message == (
        "2 timestamps appear more than once in one series (first: 2020-04-01 of series 'south')."
    )
    assert "options.series_column" in error.fix
    assert "set options.duplicates to sum, mean or last" in error.fix


def test_duplicates_combined_by_the_option_are_reported() -> None:
    frame = months(24)
    prepared = read(pd.concat([frame, frame.iloc[[3]]]), duplicates="mean")
    assert prepared.series[0].values[3] == frame["sales"][3]
    assert [f.message for f in prepared.findings] == ["1 repeated timestamps were combined (mean)."]


# --- gaps and irregular timestamps -----------------------------------------------------------


def test_a_gap_names_the_frequency_and_the_first_missing_period() -> None:
    frame = months(36).drop(index=[7, 8, 20])
    (finding,) = read(frame).findings
    assert finding.message == (
        "The monthly timeline has 3 missing periods (first: 2020-08-01), filled by "
        "interpolating between neighbours."
    )
    assert finding.level == "info"
    assert "options.fill" in finding.fix


def test_a_gap_in_one_series_names_the_series_and_counts_in_the_singular() -> None:
    north, south = months(36).assign(store="north"), months(36).assign(store="south")
    south.loc[4, "sales"] = None
    frame = pd.concat([north.drop(index=[10]), south])
    assert [f.message for f in read(frame, series="store").findings] == [
        "Series 'north': the monthly timeline has 1 missing period (first: 2020-11-01), filled "
        "by interpolating between neighbours.",
        "Series 'south': the monthly timeline has 1 missing value (first: 2020-05-01), filled "
        "by interpolating between neighbours.",
    ]


def test_an_off_grid_timestamp_names_the_grid_and_the_first_offender() -> None:
    frame = days(40).assign(store="a")
    other = days(40).assign(store="b")
    other.loc[[9, 20], "day"] = ["2024-01-10 06:00", "2024-01-21 12:00"]
    error = refused(pd.concat([frame, other]), series="store")
    assert error.message == (
        "The timestamps are irregular: 2 of 40 do not fall on the daily grid that starts at "
        "2024-01-01 (first: 2024-01-10 06:00:00 in series 'b')."
    )
    assert "options.frequency" in error.fix


# --- too short, horizon beyond the history ---------------------------------------------------


def test_minimum_length_is_two_seasons_plus_the_horizon() -> None:
    assert minimum_length(12, 6) == 30
    assert minimum_length(1, 3) == 5


def test_a_horizon_longer_than_the_history_names_both() -> None:
    error = shape_refused(read(months(60)), horizon=100, season_length=12)
    assert error.message == (
        "The horizon of 100 steps is longer than the history: the series has 60 points."
    )
    assert error.fix == "Lower options.horizon to 36 or less, or use a longer history."


def test_a_horizon_longer_than_every_series_names_the_longest() -> None:
    frame = pd.concat([months(40).assign(store="a"), months(50).assign(store="b")])
    error = shape_refused(read(frame, series="store"), horizon=51, season_length=12)
    assert error.message == (
        "The horizon of 51 steps is longer than the history: the longest of 2 series has 50 points."
    )


def test_no_series_at_all_is_refused() -> None:
    empty = Prepared([], Frequency("monthly", 12))
    error = shape_refused(empty, horizon=12, season_length=12)
    assert "nothing to forecast from" in error.message


# --- zero or negative values: an additive season ---------------------------------------------


def test_zero_values_fall_back_to_an_additive_season() -> None:
    frame = months(48)
    frame.loc[[30, 31, 40], "sales"] = 0.0
    findings = shape_findings(read(frame), horizon=12, season_length=12)
    assert [(f.level, f.message) for f in findings] == [(
        "info",
        "The series has 3 zero or negative values (first: 2022-07-01), so Holt-Winters (ETS) "
        "models its season as additive (swings of a fixed size) rather than multiplicative "
        "(swings that grow with the level).",
    )]  # fmt: skip
    assert "leave those cells empty" in findings[0].fix


def test_several_series_with_negative_values_are_named_in_one_finding() -> None:
    frame = pd.concat(
        [months(48).assign(store=f"s{k}") for k in range(7)] + [months(48).assign(store="positive")]
    )
    frame.loc[frame["store"] != "positive", "sales"] -= 200
    findings = shape_findings(read(frame, series="store"), horizon=12, season_length=12)
    assert [f.message for f in findings] == [
        "7 series have zero or negative values ('s0', 's1', 's2', 's3', 's4' and 2 more), so "
        "Holt-Winters (ETS) models their season as additive (swings of a fixed size) rather "
        "than multiplicative (swings that grow with the level)."
    ]


def test_positive_series_and_series_without_a_season_need_no_finding() -> None:
    assert shape_findings(read(months(48)), horizon=12, season_length=12) == []
    frame = months(48).assign(sales=lambda f: f["sales"] - 200)
    assert shape_findings(read(frame), horizon=12, season_length=1) == []


# --- dates in mixed formats ------------------------------------------------------------------


def test_dates_in_mixed_formats_are_refused_with_an_example_of_each() -> None:
    error = refused(mixed_dates())
    assert error.message == (
        "The time column 'date' mixes date formats: 33 rows like '2021-01-31', 2 like "
        "'28/02/2023' and 1 like 'Jul 2023'."
    )
    assert error.fix == (
        "Write every date in one format (for example 2024-01-31) and load the file again; set "
        "options.day_first if the day comes first (31/01/2024)."
    )


def test_a_half_and_half_mix_is_named_even_when_no_column_is_guessed_as_dates() -> None:
    ends = pd.date_range("2021-01-31", periods=20, freq="ME")
    written = [d.strftime("%b %Y" if i % 2 else "%Y-%m-%d") for i, d in enumerate(ends)]
    frame = pd.DataFrame({"date": written, "sales": 100.0 + np.arange(20)})
    error = refused(frame)
    assert error.message == (
        "The time column 'date' mixes date formats: 10 rows like '2021-01-31' and 10 like "
        "'Feb 2021'."
    )
    assert "options.day_first" not in error.fix


def test_rows_that_are_no_date_at_all_are_left_out_with_an_example() -> None:
    frame = months(40)
    frame.loc[[5, 6], "month"] = ["n/a", ""]
    prepared = read(frame)
    assert prepared.findings[0].message == (
        "2 rows have no readable time in 'month' (for example 'n/a') and were left out."
    )
    assert len(prepared.series[0]) == 40  # the two periods come back as filled gaps


def test_one_consistent_day_first_format_is_no_mix() -> None:
    frame = mixed_dates()
    frame["date"] = pd.date_range("2021-01-31", periods=36, freq="ME").strftime("%d/%m/%Y")
    prepared = read(frame)
    assert prepared.findings == []
    assert prepared.series[0].times[0] == pd.Timestamp("2021-01-31")
