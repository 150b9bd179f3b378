"""Schedules: retrain a registered model at set times on the latest version of its dataset;
each retrain's outcome; the registered models with promote and roll back."""

import streamlit as st

from dlstudio.jobs import scheduling
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from dlstudio.views.schedules import last_jobs, schedules_table
from pages._widgets.operate import models_section, new_schedule_form, schedule_panel
from pages._widgets.widgets import ensure_navigation, job_store

ensure_navigation()

settings, store = get_settings(), job_store()
st.title("Schedules")
st.caption(
    "A schedule retrains a model at set times (say every Monday at 03:00) on the latest version "
    "of its dataset. The new version replaces the champion only when it passes the promotion "
    "rule; when it is worse, or the retrain fails, the champion stays. A worker must be running "
    "for schedules to fire."
)

schedules = scheduling.list_schedules(store)
if schedules:
    table = schedules_table(schedules, last_jobs(store, schedules))
    st.dataframe(table, hide_index=True, width="stretch", key="schedules_table")
    for schedule in schedules:
        schedule_panel(store, schedule, settings)
else:
    st.info("No schedules yet. Create one below: pick a dataset, what to train and when.")

st.subheader("New schedule")
new_schedule_form(store, settings, now=utc_now())

st.subheader("Models")
st.caption(
    "Registered models and their versions. Predict uses the champion; a retrain that is "
    "not promoted stays as the challenger. Promote or roll back by hand here."
)
models_section(settings)
