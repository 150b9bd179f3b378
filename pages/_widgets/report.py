"""The model report's download button on the Results page."""

from __future__ import annotations

import streamlit as st

from dlstudio.explain.model_report import report_file_name, report_for_run
from dlstudio.settings import Settings
from dlstudio.tracking.queries import RunDetails


def report_download(settings: Settings, details: RunDetails) -> None:
    """Download the run's model report (``report.html``): the one it logged, or for an older run
    one made on the click (the page does not wait for it)."""
    st.download_button(
        "Download the model report",
        data=lambda: report_for_run(settings, details.run_id),
        file_name=report_file_name(details),
        mime="text/html",
        key="download_report",
        help="One HTML file that opens offline in any browser, to hand to a reviewer: the data "
        "and its checks, the scores against the classical baseline, the charts, what the model "
        "relies on, its intended use and limits, who trained it on what, and the spec.",
    )
