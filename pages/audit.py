"""Audit (admins): who did what, when, to what, filtered, and downloaded as CSV."""

from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

from dlstudio.auth import Action
from dlstudio.auth.audit import as_csv
from dlstudio.errors import DLStudioError
from pages._widgets.access import audit_trail, audited_here, why_not
from pages._widgets.widgets import ensure_navigation, show_message

ensure_navigation()
st.title("Audit")
st.caption(
    "Every change made in the dashboard or with the `dlstudio` command: sign-ins, uploads, "
    "deletions, trainings, cancellations, promotions, roll-backs, thresholds, schedules and "
    "user changes, with refused attempts. Entries cannot be changed or deleted. The same from a "
    "terminal: `dlstudio audit --since 7d`."
)
if reason := why_not(Action.READ_AUDIT):
    try:  # recorded as refused, and shown with whom to ask
        with audited_here(Action.READ_AUDIT, "audit trail"):
            pass
    except DLStudioError as exc:
        show_message("error", exc.message, exc.fix)
    st.stop()
if not st.session_state.get("audit_viewed"):  # reading the trail is itself recorded, once
    with audited_here(Action.READ_AUDIT, "audit trail", detail="opened the Audit page"):
        st.session_state["audit_viewed"] = True

trail = audit_trail()
left, middle, right, outcome_column = st.columns(4)
since = left.date_input(
    "Since", value=datetime.now(UTC).date() - timedelta(days=7), key="audit_since"
)
everyone = sorted({entry.who for entry in trail.entries(limit=5000)})
who = middle.selectbox("User", ["(everyone)", *everyone], key="audit_user")
actions = [action.value for action in Action]
action = right.selectbox("Action", ["(all)", *actions], key="audit_action")
outcome = outcome_column.selectbox(
    "Outcome", ["(all)", "done", "refused", "failed"], key="audit_outcome"
)
entries = trail.entries(
    since=datetime.combine(since, time.min, tzinfo=UTC),
    who=None if who == "(everyone)" else who,
    action=None if action == "(all)" else action,
)
if outcome != "(all)":
    entries = [entry for entry in entries if entry.outcome == outcome]
if not entries:
    st.info("No entries match these filters.")
    st.stop()
table = pd.DataFrame([entry.__dict__ for entry in entries])
table["at"] = table["at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC")
st.dataframe(table, hide_index=True, width="stretch", key="audit_table")  # cells are text
st.caption(f"{len(entries):,} entries, newest first.")
st.download_button(
    "Download the audit trail (CSV)",
    as_csv(entries),
    file_name=f"dlstudio-audit-{datetime.now(UTC):%Y%m%d}.csv",
    mime="text/csv",
    key="audit_download",
    on_click="ignore",
)
