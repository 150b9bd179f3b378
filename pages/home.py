"""Home: what dlstudio does, whether it is ready to train, recent work, and samples to try."""

import os

import streamlit as st

from dlstudio.auth import Action
from dlstudio.credentials import mask_url
from dlstudio.data.store import DatasetStore
from dlstudio.jobs.autostart import ensure_worker
from dlstudio.settings import get_settings
from dlstudio.tasks import get_template, task_names
from dlstudio.tasks.base import Sample
from dlstudio.tracking.queries import recent_runs
from dlstudio.views.datasets import add_sample
from dlstudio.views.jobs import jobs_table
from dlstudio.views.status import device_status
from dlstudio.views.text import inline_code
from pages._widgets.access import audited_here, current_user, why_not
from pages._widgets.widgets import ensure_navigation, job_store

ensure_navigation()


@st.cache_data(show_spinner=False)
def load_sample(task: str) -> Sample | None:
    """The template's generated sample (the same every time: made once per server)."""
    return get_template(task).sample()


settings = get_settings()
st.title("dlstudio")
st.write(
    "Upload a table or a ZIP of images, pick what to predict and press Train: dlstudio trains a "
    "deep-learning model in the background and tells you plainly whether it beats a classical "
    "model on the same data."
)

# a worker that died since the session began is replaced; it stops with this server
worker, device = ensure_worker(settings, parent_pid=os.getpid()), device_status()
left, middle, right = st.columns(3)
left.metric("Worker", "ready" if worker.alive else "not running", border=True)
left.caption(worker.message)
middle.metric("Device", "GPU" if device.gpu else "CPU only", border=True)
middle.caption(device.message)
right.metric("Runs tracked in", "MLflow", border=True)
right.caption(f"{inline_code(mask_url(settings.mlflow_tracking_uri))} · [MLflow UI]({settings.mlflow_ui_url})")

st.subheader("Try a sample")
for name, column in zip(task_names(), st.columns(max(1, len(task_names()))), strict=False):
    template = get_template(name)
    sample = load_sample(name)
    with column.container(border=True):
        st.markdown(f"**{template.title}**")
        st.caption(sample.description if sample else template.description)
        cannot = why_not(Action.UPLOAD)
        if sample and st.button("Use this sample", key=f"home_sample_{name}",
                                disabled=cannot is not None, help=cannot):  # fmt: skip
            with audited_here(Action.UPLOAD, f"dataset {sample.name}", detail="sample"):
                version = add_sample(DatasetStore.default(), sample, by=current_user().name)
            st.session_state["train_task"] = name
            st.session_state["train_dataset"] = version.name
            st.switch_page("pages/train.py")

st.subheader("Recent jobs")
jobs = job_store().list_jobs(limit=5)
if jobs:
    st.dataframe(jobs_table(jobs), hide_index=True, width="stretch", key="home_jobs")
else:
    st.info("No jobs yet: upload data on the Data page or use a sample above, then train.")

st.subheader("Recent runs")
runs = recent_runs(settings, limit=5)
if runs.empty:
    st.caption("Finished trainings appear here.")
else:
    st.dataframe(runs, hide_index=True, width="stretch", key="home_runs")
