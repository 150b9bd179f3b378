"""dlstudio dashboard: page config and navigation. Pages live in pages/."""

import os

import streamlit as st

from dlstudio.jobs.autostart import ensure_worker
from dlstudio.settings import get_settings

st.set_page_config(page_title="dlstudio", page_icon=":bar_chart:", layout="wide")

if "worker_status" not in st.session_state:  # once per browser session: jobs need a worker
    st.session_state.worker_status = ensure_worker(get_settings(), parent_pid=os.getpid())
st.sidebar.caption(st.session_state.worker_status.message)

navigation = st.navigation([st.Page("pages/runs.py", title="Runs", icon=":material/list:")])
navigation.run()
