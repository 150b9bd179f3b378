"""Streamlit helpers shared by the pages: widgets for generated form fields, messages with their
fix, the cached job store, the navigation guard. In a subfolder, so Streamlit's legacy pages/
discovery never lists it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dlstudio.jobs.store import JobStore
from dlstudio.settings import get_settings
from dlstudio.tasks.base import TaskTemplate
from dlstudio.views.forms import FormField, parse_int_list
from dlstudio.views.text import escape_markdown
from dlstudio.views.wording import for_pages


def field_widget(field: FormField, *, key: str, columns: list[str]) -> Any:
    """Render one option; returns its value (None = leave it to the preset / default)."""
    label, help_text = field.label, field.description or None
    if field.kind == "choice":
        index = field.choices.index(field.default) if field.default in field.choices else 0
        return st.selectbox(label, field.choices, index=index, key=key, help=help_text)
    if field.kind == "bool":
        return st.checkbox(label, value=bool(field.default), key=key, help=help_text)
    if field.kind == "columns":
        return st.multiselect(label, columns, default=[], key=key, help=help_text)
    if field.kind == "int_list":
        text = st.text_input(label, key=key, help=help_text, placeholder="preset, e.g. 256, 128")
        try:
            return parse_int_list(text)
        except ValueError as exc:
            st.error(escape_markdown(exc))
            return None
    if field.kind in ("int", "float"):
        number = int if field.kind == "int" else float
        return st.number_input(
            label,
            value=None if field.default is None else number(field.default),
            min_value=None if field.minimum is None else number(field.minimum),
            max_value=None if field.maximum is None else number(field.maximum),
            step=1 if field.kind == "int" else None,
            format=None if field.kind == "int" else "%g",
            placeholder="preset" if field.optional else None,
            key=key,
            help=help_text,
        )
    return st.text_input(label, value=field.default or "", key=key, help=help_text) or None


MESSAGE_BOXES = {"error": st.error, "warning": st.warning, "info": st.info, "success": st.success}


def role_pickers(template: TaskTemplate, frame: pd.DataFrame, *, key: str) -> dict[str, Any]:
    """A selectbox of the frame's columns for each column role of the template, pre-filled with
    the template's guess; an optional role offers "(none)". ``key`` names each widget with
    ``{role}`` standing for the role, e.g. ``"train_role_{role}_sales"``."""
    columns, suggested = list(frame.columns), template.suggest_roles(frame)
    roles = {}
    for role in template.roles:
        options = [None, *columns] if role.optional else columns
        guess = suggested.get(role.key)  # None picks "(none)" for an optional role
        roles[role.key] = st.selectbox(
            role.label,
            options,
            index=options.index(guess) if guess in options else None,
            format_func=lambda column: "(none)" if column is None else str(column),
            placeholder="choose a column",
            help=role.help,
            key=key.replace("{role}", role.key),
        )
    return roles


def show_message(level: str, message: str, fix: str | None = None) -> None:
    """A message in the box of its level ("error", "warning", "info", "success"), with how to
    fix it below; both are shown as plain text (they quote names and values from the data),
    with spec paths (options.text_column) said as the page's controls."""
    how_to_fix = f"  \n**How to fix:** {escape_markdown(for_pages(fix))}" if fix else ""
    MESSAGE_BOXES[level](escape_markdown(for_pages(message)) + how_to_fix)


RESUME_KEY = "dlstudio_resume_page"
APP_RAN_KEY = "dlstudio_app_ran"  # set by app.py in every session it runs in


def ensure_navigation() -> None:
    """Call first in every page. A deep link opened before app.py has run once on this server
    is served by Streamlit's legacy `pages/` discovery (no sections, no status, no worker
    start); going through app.py once switches the server to app.py's navigation for good."""
    import inspect

    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and APP_RAN_KEY not in st.session_state:
        page = Path(inspect.stack()[1].filename)
        st.session_state[RESUME_KEY] = f"{page.parent.name}/{page.name}"  # app.py goes on there
        st.switch_page("app.py")
    from pages._widgets.access import session_user  # access imports this module

    if session_user() is None:  # app.py's sign-in was bypassed or the session ended
        st.warning("Sign in first: open the dashboard's start page.")
        st.stop()


@st.cache_resource(show_spinner=False)
def _job_store(url: str) -> JobStore:
    return JobStore(url)


def job_store() -> JobStore:
    """The job store of the current settings, one engine per database for the whole server."""
    return _job_store(get_settings().job_database_url)
