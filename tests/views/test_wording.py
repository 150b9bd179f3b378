"""Fixes written for the CLI name the page's controls when a page shows them (issue 22)."""

from __future__ import annotations

from dlstudio.views.wording import for_pages


def test_a_role_is_named_by_its_picker() -> None:
    assert for_pages("Name the text column with options.text_column.") == (
        "Name the text column with the 'Text column' picker."
    )
    assert for_pages("Set options.time_column to the dates.") == (
        "Set the 'Date or time column' picker to the dates."
    )


def test_an_option_is_named_where_the_train_page_has_it() -> None:
    assert for_pages("Raise options.max_length to read more.") == (
        "Raise 'Max length' under Advanced options to read more."
    )
    assert for_pages("Lower training.epochs.") == "Lower 'Epochs' under Advanced options."


def test_file_names_and_the_template_title_read_right() -> None:
    assert for_pages("Use the Tabular regression template (task: tabular_regression).") == (
        "Use the Tabular regression template."
    )
    assert for_pages("see data.csv and options.unknown_thing") == (
        "see data.csv and options.unknown_thing"
    )  # not spec paths a page has a control for: left as they are


def test_predictions_show_the_answers_first_and_dates_as_dates() -> None:
    import pandas as pd

    from dlstudio.views.text import answers_first

    table = pd.DataFrame({
        "customer": ["a", "b"], "signed": pd.to_datetime(["2025-01-01", "2025-02-01"]),
        "seen": pd.to_datetime(["2025-01-01 10:30", "2025-02-01 00:00"]),
        "prediction": ["yes", "no"], "probability_yes": [0.9, 0.2], "probability_no": [0.1, 0.8],
    })  # fmt: skip
    shown = answers_first(table)
    assert list(shown.columns) == [
        "prediction", "probability_yes", "probability_no", "customer", "signed", "seen"
    ]
    assert str(shown["signed"].iloc[0]) == "2025-01-01"
    assert str(shown["seen"].iloc[1]) == "2025-02-01 00:00:00"  # a column with times keeps them
