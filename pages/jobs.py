"""Jobs: the queue, live progress of one job, cancel (with confirmation), errors and log."""

import pandas as pd
import streamlit as st

from dlstudio import charts
from dlstudio.auth import Action
from dlstudio.errors import DLStudioError
from dlstudio.jobs import JobStatus
from dlstudio.jobs.store import utc_now
from dlstudio.settings import get_settings
from dlstudio.tracking.queries import UnknownRun, run_history
from dlstudio.views.jobs import duration, jobs_table, progress_share, progress_text
from dlstudio.views.text import escape_markdown
from pages._widgets.access import audited_here, why_not
from pages._widgets.widgets import ensure_navigation, job_store, show_message

ensure_navigation()

settings = get_settings()
store = job_store()
st.title("Jobs")
jobs = store.list_jobs(limit=100)
if not jobs:
    st.info("No jobs yet. Start one on the Train page; it runs here in the background.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

any_active = any(job.state in (JobStatus.QUEUED, JobStatus.RUNNING) for job in jobs)


@st.fragment(run_every=2 if any_active else None)
def show_table() -> None:
    """The queue, refreshed as often as the job panel below, so the two never disagree."""
    shown = store.list_jobs(limit=100)
    searches = store.latest_events([job.id for job in shown if job.spec.get("search")], "search")
    st.dataframe(jobs_table(shown, searches), hide_index=True, width="stretch", key="jobs_table")


show_table()
ids = [job.id for job in jobs]
wanted = st.query_params.get("job") or st.session_state.get("jobs_selected")
labels = {job.id: f"{job.id} · {job.task} · {job.submitted_at:%Y-%m-%d %H:%M}" for job in jobs}
job_id = st.selectbox(
    "Job",
    ids,
    index=ids.index(wanted) if wanted in ids else 0,
    format_func=labels.get,
    key="jobs_choice",
)
active = store.get(job_id).state in (JobStatus.QUEUED, JobStatus.RUNNING)


@st.fragment(run_every=2 if active else None)
def show_job(job_id: str) -> None:
    job = store.get(job_id)
    if active and job.state.finished:
        st.rerun()  # stop polling, show the final view
    st.subheader(f"Job {job.id}: {job.state.value}")
    st.caption(
        f"{escape_markdown(job.task)}, submitted by {escape_markdown(job.submitted_by)} at "
        f"{job.submitted_at:%Y-%m-%d %H:%M} UTC"
    )
    if job.state is JobStatus.QUEUED:
        st.info("Waiting for a worker to pick it up.")
    if job.spec.get("search"):
        line = store.latest_events([job.id], "search").get(job.id)
        st.info(
            f"A search within {escape_markdown(job.spec['search']['budget'])}: "
            + escape_markdown(progress_text(job, line).removeprefix("search: ") or "done")
            + ". Cancel keeps the best trial so far."
        )
    elif job.total_epochs:
        st.progress(progress_share(job), text=progress_text(job))
    cards = st.columns(3)
    cards[0].metric("Epoch", f"{job.epoch or 0}/{job.total_epochs or '?'}")
    eta = duration(job.eta_seconds) if job.state is JobStatus.RUNNING and job.eta_seconds else "-"
    in_trial = " of this trial" if job.spec.get("search") else ""
    cards[1].metric(f"Time left{in_trial} (at most)", eta)
    cards[2].metric("Device", job.device or "-")
    if job.mlflow_run_id:
        try:
            history = run_history(settings, job.mlflow_run_id)
        except UnknownRun:  # its run was deleted in MLflow
            history = pd.DataFrame()
        if not history.empty:
            st.altair_chart(charts.learning_curves(history), key=f"jobs_curves_{job.id}")
    if job.state is JobStatus.SUCCEEDED:
        shown = {k: v for k, v in job.metrics.items() if k.startswith("test_")}
        st.success("Finished. " + ", ".join(f"{k[5:]} {v:.3f}" for k, v in list(shown.items())[:4]))
        if (job.spec.get("search") or {}).get("helps"):
            st.caption(
                f"This job ran trials of the search of job {job.spec['search']['helps']}; that "
                "job's results show every trial."
            )
    if job.state is JobStatus.SUCCEEDED and job.mlflow_run_id:
        st.page_link(
            "pages/results.py", label="See the results", icon=":material/insights:",
            query_params={"run": job.mlflow_run_id},
        )  # fmt: skip
    if job.state is JobStatus.FAILED:
        st.error(escape_markdown(job.error_message or "The job failed without a message."))
        if job.error_traceback:
            with st.expander("Technical details (for an engineer)"):
                st.code(job.error_traceback, language="text")
    if job.state is JobStatus.CANCELLED:
        st.warning("Cancelled.")
    if job.log_tail:
        with st.expander("Log"):
            st.code(job.log_tail, language="text")
    with st.expander("Timeline"):
        for event in store.events(job.id):
            st.text(f"{event.at:%H:%M:%S}  {event.message}")


show_job(job_id)

if active:
    confirming = st.session_state.get("jobs_confirm_cancel") == job_id
    cannot = why_not(Action.CANCEL, owner=store.get(job_id).submitted_by)
    if not confirming and st.button(
        "Cancel this job", key="jobs_cancel", disabled=cannot is not None, help=cannot
    ):
        st.session_state["jobs_confirm_cancel"] = job_id
        st.rerun()
    if confirming:
        st.warning("Cancel this job? A running job stops within seconds; this cannot be undone.")
        yes, no = st.columns(2)
        if yes.button("Yes, cancel it", type="primary", key="jobs_cancel_yes"):
            st.session_state.pop("jobs_confirm_cancel")
            try:
                with audited_here(Action.CANCEL, f"job {job_id}",
                                  owner=store.get(job_id).submitted_by) as done:  # fmt: skip
                    _, message = store.cancel(job_id, now=utc_now())
                    done.detail = message
            except DLStudioError as exc:
                show_message("error", exc.message, exc.fix)
            else:
                st.toast(message)
                st.rerun()
        if no.button("Keep it running", key="jobs_cancel_no"):
            st.session_state.pop("jobs_confirm_cancel")
            st.rerun()
