"""Sign-in for the dashboard, and the role check of every page action.

With ``DLSTUDIO_SIGN_IN=off`` (the default) the person at the machine is an admin named by the
login of the account that runs the dashboard. With ``accounts`` app.py asks for a user name and
password, with ``sso`` it sends people to the company's OpenID Connect sign-in (Streamlit's
``st.login``). A session ends after ``DLSTUDIO_SESSION_MINUTES`` idle minutes.

Buttons a role may not use are disabled with the reason as their help, and every action checks
the role again when it runs (:func:`audited_here`), so a forced request is refused all the same.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import streamlit as st

from dlstudio.auth import Accounts, Action, User, audited, refusal
from dlstudio.auth.audit import DONE, AuditTrail
from dlstudio.auth.roles import local_user
from dlstudio.errors import DLStudioError, SignInError
from dlstudio.settings import get_settings
from dlstudio.views.text import escape_markdown
from pages._widgets.widgets import job_store

USER_KEY = "dlstudio_user"  # the signed-in User
SEEN_KEY = "dlstudio_seen_at"  # when this session last did anything (UTC)
ENDED_KEY = "dlstudio_session_ended"  # why the last session ended, shown on the sign-in form


def session_user() -> User | None:
    """Who uses this browser session: the local admin with sign-in off, else the signed-in user
    whose session has not run out (None: nobody, or the session ended)."""
    settings = get_settings()
    if settings.sign_in == "off":
        return local_user()
    user = st.session_state.get(USER_KEY)
    seen = st.session_state.get(SEEN_KEY)
    if user is None or seen is None:
        return None
    if datetime.now(UTC) - seen > timedelta(minutes=settings.session_minutes):
        _end_session(user, f"the session ended after {settings.session_minutes} idle minutes")
        return None
    account = accounts().find(user.name)  # read each time: a role change applies at once
    if account is None:
        _end_session(user, "the account was removed")
        return None
    if account.role is not user.role:
        user = User(user.name, account.role)
        st.session_state[USER_KEY] = user
    return user


def current_user() -> User:
    """The session's user, or :class:`SignInError` when the session has ended: an action
    started after that is not done."""
    user = session_user()
    if user is None:
        raise SignInError(
            "Your session has ended, so this was not done.",
            fix="sign in again (reload the page), then repeat it",
        )
    return user


def why_not(action: Action, *, owner: str | None = None) -> str | None:
    """Why the session's user may not do ``action`` (the help of a disabled button), or None."""
    user = session_user()
    return "Sign in first." if user is None else refusal(user, action, owner=owner)


def audited_here(
    action: Action, target: str, *, owner: str | None = None, detail: str = ""
) -> AbstractContextManager:
    """:func:`dlstudio.auth.audited` for the session's user: checked again now, recorded."""
    return audited(get_settings(), current_user(), action, target, owner=owner, detail=detail,
                   trail=audit_trail())  # fmt: skip


def record_once(key: str, action: Action, target: str, detail: str = "") -> None:
    """Record an action that a page redraws many times (scoring one upload) the first time."""
    done = st.session_state.setdefault("dlstudio_recorded", set())
    if key not in done:
        audit_trail().record(current_user(), action, target, detail)
        done.add(key)


@st.cache_resource(show_spinner=False)
def _auth_stores(url: str) -> tuple[Accounts, AuditTrail]:
    engine = job_store().engine  # one engine per database for the whole server
    return Accounts(engine), AuditTrail(engine)


def accounts() -> Accounts:
    return _auth_stores(get_settings().job_database_url)[0]


def audit_trail() -> AuditTrail:
    return _auth_stores(get_settings().job_database_url)[1]


def sign_in_gate() -> User | None:
    """In app.py before the pages: with sign-in on and nobody signed in, the sign-in form is the
    only page (Streamlit's pattern for sign-in with st.navigation) and None is returned (app.py
    stops); else the user, drawn in the sidebar with the way out."""
    settings = get_settings()
    if settings.sign_in == "off":
        return local_user()
    user = _sso_user() if settings.sign_in == "sso" else session_user()
    if user is None:
        form = _sso_form if settings.sign_in == "sso" else _password_form
        st.navigation([st.Page(form, title="Sign in", url_path="sign-in")]).run()
        return None
    st.session_state[SEEN_KEY] = datetime.now(UTC)
    st.sidebar.caption(escape_markdown(f"Signed in as {user.name} ({user.role.value})"))
    if st.sidebar.button("Sign out", key="access_sign_out"):
        _end_session(user, "signed out")
        if settings.sign_in == "sso":
            st.logout()
        st.rerun()
    return user


def _password_form() -> None:
    st.title("Sign in to dlstudio")
    if ended := st.session_state.pop(ENDED_KEY, None):
        st.info(escape_markdown(f"{ended[0].upper()}{ended[1:]}; sign in again."))
    if accounts().count() == 0:
        st.error(
            "Sign-in is on, but nobody has an account yet.  \n**How to fix:** on the server, "
            "add the first admin: `dlstudio users add NAME --role admin --password-stdin`"
        )
        return
    with st.form("access_sign_in"):
        name = st.text_input("User name", key="access_name")
        password = st.text_input("Password", type="password", key="access_password")
        submitted = st.form_submit_button("Sign in", type="primary", key="access_submit")
    if not submitted:
        return
    try:
        user = accounts().sign_in(name.strip(), password, now=datetime.now(UTC))
    except DLStudioError as exc:
        st.error(escape_markdown(exc.message) + (f"  \n{escape_markdown(exc.fix)}" if exc.fix else ""))
        return
    _start_session(user)


def _sso_form() -> None:
    st.title("Sign in to dlstudio")
    if ended := st.session_state.pop(ENDED_KEY, None):
        st.info(escape_markdown(f"{ended[0].upper()}{ended[1:]}; sign in again."))
    st.button("Sign in with your company account", type="primary", on_click=st.login,
              key="access_sso")  # fmt: skip


def _sso_user() -> User | None:
    """The user of Streamlit's OpenID Connect sign-in (their email), known to the accounts
    table: a first sign-in gets DLSTUDIO_SSO_ROLE."""
    if not st.user.get("is_logged_in"):
        return None
    if st.session_state.get(USER_KEY) is None:
        email = st.user.get("email") or st.user.get("sub")
        settings = get_settings()
        user = accounts().sso_user(
            str(email), default_role=settings.sso_role, now=datetime.now(UTC)
        )
        _start_session(user, rerun=False)
    user = session_user()
    if user is None:  # idle too long: the company sign-in is asked again
        st.logout()
    return user


def _start_session(user: User, *, rerun: bool = True) -> None:
    st.session_state[USER_KEY] = user
    st.session_state[SEEN_KEY] = datetime.now(UTC)
    if rerun:
        st.rerun()


def _end_session(user: User, why: str) -> None:
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(SEEN_KEY, None)
    st.session_state[ENDED_KEY] = why
    audit_trail().record(user, Action.SIGN_OUT, f"user {user.name}", why, outcome=DONE)
