"""Streamlit sections of the Results page for tabular runs: a regression's predictions on the test
rows, the models compared on the same rows, a two-class model's decision threshold and the
columns the model relies on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dlstudio import charts
from dlstudio.tracking.queries import Decision, ModelCandidates
from dlstudio.tracking.queries.details import CARD_METRICS, ColumnImportance
from dlstudio.views.model_choice import candidates_table, choice_note, decision_text


def test_predictions(predictions: pd.DataFrame) -> None:
    """Predicted against actual, the errors against the prediction, the error by decile."""
    st.subheader("Predictions on the test rows")
    st.caption(
        "Each point is a test row. Points on the dashed line are exact; points above it were "
        "predicted too high, below it too low."
    )
    scatter, spread = st.columns(2)
    scatter.altair_chart(charts.predicted_vs_actual(predictions), key="results_predicted")
    spread.altair_chart(charts.residuals(predictions), key="results_residuals")
    st.caption(
        "Average error (in the target's units) for the test rows sorted into ten equal groups "
        "from the smallest actual values to the largest: where the model is least reliable."
    )
    st.altair_chart(charts.error_by_decile(predictions), key="results_error_by_decile")


def model_comparison(choice: ModelCandidates) -> None:
    """One row per model tried, with the registered one ticked."""
    st.subheader("Models compared on the same rows")
    st.caption(choice_note(choice))
    st.dataframe(
        candidates_table(choice),
        hide_index=True,
        key="results_candidates",
        column_config={
            "model": "Model",
            "weights": st.column_config.TextColumn(
                "Blend", help="The share of each model in a blended prediction."
            ),
            "registered": st.column_config.CheckboxColumn(
                "Registered", help="The model saved with this run and used by Predict."
            ),
        },
    )


def decision_threshold(decision: Decision) -> None:
    """The one line about the tuned threshold of a two-class model."""
    st.info(decision_text(decision))


def column_importance(importance: ColumnImportance) -> None:
    """Which columns the model relies on: permutation importance on the test rows."""
    st.subheader("What the model relies on")
    metric = CARD_METRICS.get(importance.metric, importance.metric)
    st.caption(
        f"How much the test {metric} gets worse when one column's values are shuffled across the "
        f"{importance.rows:,} test rows ({importance.repeats} shuffles; the line shows their "
        "spread). Near 0: the model barely uses the column. Below 0: shuffling it did not hurt."
    )
    st.altair_chart(
        charts.column_importance(importance.columns, metric), key="results_column_importance"
    )
