"""The kind of a stored dataset and the templates offered for it, from the template registry."""

from __future__ import annotations

from pathlib import Path

from dlstudio.views.datasets import data_kind, template_for, templates_reading


def test_a_zip_or_a_folder_holds_images_and_any_other_file_a_table(tmp_path: Path) -> None:
    assert data_kind(tmp_path / "shapes.ZIP") == "images"
    assert data_kind(tmp_path) == "images"  # a folder of class folders on the server
    assert data_kind(tmp_path / "sales.csv") == "table"
    assert data_kind(tmp_path / "sales.parquet") == "table"


def test_templates_are_sorted_by_what_they_read() -> None:
    assert templates_reading("images") == ["image_classification"]
    assert templates_reading("table") == [
        "tabular_classification", "tabular_regression", "forecasting", "text_sentiment"
    ]  # fmt: skip


def test_the_current_template_stays_when_it_reads_that_kind_of_data() -> None:
    assert template_for("table", current="forecasting") == "forecasting"
    assert template_for("images", current="image_classification") == "image_classification"


def test_otherwise_the_first_template_reading_it_is_offered() -> None:
    assert template_for("images", current="forecasting") == "image_classification"
    assert template_for("table", current="image_classification") == "tabular_classification"
    assert template_for("images") == "image_classification"
    assert template_for("table", current="no_such_task") == "tabular_classification"
