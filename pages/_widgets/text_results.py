"""Streamlit sections of the Results page for text runs: the surest mistakes with the words
behind them, and the try-a-sentence box with its words highlighted."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dlstudio.errors import DLStudioError
from dlstudio.explain.words import WordWeights
from dlstudio.tracking.queries import RunDetails
from dlstudio.views.text import escape_markdown
from dlstudio.views.text_try import (
    MISTAKES_WEIGHED,
    highlight_legend,
    highlighted,
    mistake_words,
    predict_sentence,
    sentence_words,
)
from pages._widgets.answers import run_model, show_answer
from pages._widgets.widgets import show_message


@st.cache_data(show_spinner="Weighing the words of each mistake...", max_entries=8)
def _mistake_words(run_id: str, _details: RunDetails, _mistakes: pd.DataFrame) -> list:
    return mistake_words(run_model(_details), _mistakes)


def text_mistakes(details: RunDetails, run_id: str) -> None:
    """The test texts the model got wrong while most sure, and on demand the words behind them."""
    st.subheader("Most confident mistakes")
    st.caption(
        "The test texts the model got wrong while it was most sure of its answer, the surest "
        "first (at most 20). Look for mislabelled rows, sarcasm or words it never saw in training."
    )
    mistakes = details.mistakes
    if mistakes is None or mistakes.empty:
        st.info("No mistakes on the test texts.")
        return
    st.dataframe(
        mistakes,
        hide_index=True,
        key="results_mistakes",
        column_config={
            "text": st.column_config.TextColumn("Text", width="large"),
            "true": "True label",
            "predicted": "Predicted",
            "probability": st.column_config.NumberColumn(
                "Probability", format="percent", help="How sure the model was of its answer."
            ),
        },
    )
    if not st.toggle(
        "Show the words behind each mistake",
        key="results_mistake_words",
        help=f"The {MISTAKES_WEIGHED} surest mistakes, each word weighed by deleting it.",
    ):
        return
    try:
        weighed = _mistake_words(run_id, details, mistakes)
    except DLStudioError as exc:
        show_message("warning", exc.message, exc.fix)
        return
    st.caption("Green words pushed the model towards its wrong answer, red words away from it "
               "(in bold: the strongest).")  # fmt: skip
    for (_, row), weights in zip(mistakes.iterrows(), weighed, strict=False):
        st.markdown(
            f"{highlighted(weights)}  \n*true {escape_markdown(row['true'])}, predicted "
            f"{escape_markdown(row['predicted'])} ({row['probability']:.0%})*"
        )


def try_sentence(details: RunDetails) -> None:
    """Type a sentence: the model's label, each class's probability and the words behind it."""
    st.subheader("Try a sentence")
    with st.form("results_try_sentence"):
        sentence = st.text_input("Sentence", placeholder="Love the camera!", key="results_sentence")
        submitted = st.form_submit_button("Label", key="results_label")
    if not submitted:
        return
    model = show_answer(
        details,
        lambda model: predict_sentence(model, sentence),
        label="Predicted label",
        key="results_sentence_probabilities",
    )
    if model is None:
        return
    with st.spinner("Weighing each word..."):
        weights: WordWeights = sentence_words(model, sentence)
    st.markdown(highlighted(weights))
    st.caption(highlight_legend(weights.label))
