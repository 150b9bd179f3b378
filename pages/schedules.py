"""Schedules: retrain a model on new data at set times (arrives with the scheduling issue)."""

import streamlit as st

from pages.ui.widgets import ensure_navigation

ensure_navigation()

st.title("Schedules")
st.info(
    "Coming soon: retrain a registered model on a schedule (for example every Monday at 03:00) "
    "on the latest version of its dataset, and promote the new model only when it scores "
    "better than the current champion."
)
st.write(
    "Until then, retrain by hand: upload the new data under the same dataset name on the Data "
    "page (it becomes a new version) and press Train again with the same settings; compare the "
    "two runs on the Compare page."
)
st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")
