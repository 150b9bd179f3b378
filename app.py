"""dlstudio dashboard: page config and navigation. Pages live in pages/."""

import streamlit as st

st.set_page_config(page_title="dlstudio", page_icon=":bar_chart:", layout="wide")

navigation = st.navigation([st.Page("pages/runs.py", title="Runs", icon=":material/list:")])
navigation.run()
