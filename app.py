"""dlstudio dashboard: page config, sign-in when it is on, navigation by section (the Audit page
for admins), and the status in the sidebar."""

import os

import streamlit as st

from dlstudio.auth import Role
from dlstudio.errors import DLStudioError
from dlstudio.jobs.autostart import ensure_worker
from dlstudio.settings import get_settings
from dlstudio.views.hosts import host_allowed
from dlstudio.views.status import device_status
from dlstudio.views.text import escape_markdown
from pages._widgets.access import sign_in_gate
from pages._widgets.widgets import APP_RAN_KEY, RESUME_KEY

st.set_page_config(page_title="dlstudio", page_icon=":bar_chart:", layout="wide")

try:
    settings = get_settings()
except DLStudioError as exc:  # a DLSTUDIO_* variable the dashboard cannot use
    st.error(escape_markdown(exc.message) + f"  \n**How to fix:** {escape_markdown(exc.fix)}")
    st.stop()
host = st.context.headers.get("Host")
if not host_allowed(host, settings.allowed_hosts):  # a rebound name: show nothing
    st.error(
        f"This dashboard does not answer to the address {escape_markdown(str(host))}. Open it "
        "at http://localhost:8501, or ask its administrator to add this name to "
        "DLSTUDIO_ALLOWED_HOSTS."
    )
    st.stop()

pages = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Data": [st.Page("pages/data.py", title="Data", icon=":material/table:")],
    "Train": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/jobs.py", title="Jobs", icon=":material/pending_actions:"),
    ],
    "Results": [
        st.Page("pages/runs.py", title="Runs", icon=":material/list:"),
        st.Page("pages/results.py", title="Results", icon=":material/insights:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    ],
    "Operate": [
        st.Page("pages/predict.py", title="Predict", icon=":material/online_prediction:"),
        st.Page("pages/schedules.py", title="Schedules", icon=":material/schedule:"),
    ],
}
user = sign_in_gate()  # None: the sign-in form was the page, nothing else is shown
if user is None:
    st.stop()
if user.role is Role.ADMIN:
    pages["Operate"].append(st.Page("pages/audit.py", title="Audit", icon=":material/policy:"))
navigation = st.navigation(pages)
st.session_state[APP_RAN_KEY] = True
if resume := st.session_state.pop(RESUME_KEY, None):  # a deep link opened on a fresh server
    st.switch_page(resume)

if "worker_status" not in st.session_state:  # once per browser session: jobs need a worker
    st.session_state.worker_status = ensure_worker(get_settings(), parent_pid=os.getpid())
st.sidebar.caption(st.session_state.worker_status.message)
device = device_status()
st.sidebar.caption(device.message)

navigation.run()
