"""Streamlit sections of the Schedules page: one schedule with its buttons and history, the
new-schedule form, and the registered models with promote and roll back."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dlstudio.auth import Action
from dlstudio.data.readers import read_table
from dlstudio.data.store import DatasetStore, DatasetVersion
from dlstudio.errors import DLStudioError
from dlstudio.jobs import JobStore, scheduling
from dlstudio.jobs.scheduling import ACTIVE, Schedule
from dlstudio.jobs.store import utc_now
from dlstudio.settings import Settings
from dlstudio.tasks import get_template
from dlstudio.tracking.queries import model_url, run_decisions
from dlstudio.tracking.registry import ModelInfo
from dlstudio.views import schedules as view
from dlstudio.views.datasets import data_kind, templates_reading
from dlstudio.views.text import escape_markdown
from pages._widgets.access import audited_here, why_not
from pages._widgets.access import current_user as session_user
from pages._widgets.widgets import role_pickers, show_message

CONFIRM = "schedules_confirm"  # the one action waiting for "yes": (kind, subject, detail)
PRESETS = ["fast", "balanced", "best"]


def current_user() -> str:
    """Who presses the buttons: the signed-in user, or the local account with sign-in off."""
    return session_user().name


def audited_step(name: str, owner: str | None, detail: str, step):
    """``step()`` as a schedule change of ``name`` (owned by ``owner``): role checked, recorded;
    its result, or None when it was refused or failed (the error is shown)."""
    try:
        with audited_here(Action.SCHEDULE, f"schedule {name}", owner=owner, detail=detail):
            return step()
    except DLStudioError as exc:
        show_error(exc)
        return None


def show_error(exc: DLStudioError) -> None:
    show_message("error", exc.message, exc.fix)


def confirmed(action: tuple[str, str, str], question: str, *, yes: str) -> bool:
    """Ask ``question`` (plain text) while ``action`` waits for confirmation; True once the user
    says yes."""
    if st.session_state.get(CONFIRM) != action:
        return False
    st.warning(escape_markdown(question))
    left, right = st.columns(2)
    key = "_".join(action)
    if right.button("No, keep it as it is", key=f"schedules_no_{key}"):
        st.session_state.pop(CONFIRM)
        st.rerun()
    if left.button(yes, type="primary", key=f"schedules_yes_{key}"):
        st.session_state.pop(CONFIRM)
        return True
    return False


def ask(action: tuple[str, str, str]) -> None:
    st.session_state[CONFIRM] = action
    st.rerun()


def schedule_panel(store: JobStore, schedule: Schedule, settings: Settings) -> None:
    """One schedule: pause or resume, run now, remove (asks first), and its history."""
    name, when = schedule.name, view.describe_cron(schedule.cron) or schedule.cron
    about = escape_markdown(f"retrains {schedule.model!r}, {when} ({schedule.timezone})")
    owner = schedule.created_by
    cannot = why_not(Action.SCHEDULE, owner=owner)
    rules = {"disabled": cannot is not None, "help": cannot}
    with st.expander(f"**{escape_markdown(name)}**: {about}"):
        with st.container(horizontal=True):
            pause = lambda: scheduling.pause(store, name)  # noqa: E731
            if (
                schedule.state == ACTIVE
                and st.button("Pause", key=f"schedules_pause_{name}", **rules)
                and audited_step(name, owner, "paused", pause)
            ):
                st.rerun()
            if schedule.state != ACTIVE and st.button("Resume", key=f"schedules_resume_{name}",
                                                      **rules):  # fmt: skip
                resume = lambda: scheduling.resume(store, name, now=utc_now())  # noqa: E731
                if audited_step(name, owner, "resumed", resume):
                    st.rerun()
            if st.button("Run now", key=f"schedules_run_{name}", **rules):
                run_now = lambda: scheduling.run_now(store, name, now=utc_now())  # noqa: E731
                if job := audited_step(name, owner, "run now", run_now):
                    st.session_state["jobs_selected"] = job.id
                    st.toast(f"Job {job.id} queued: a worker trains it in the background.")
                    st.rerun()
            if st.button("Remove", key=f"schedules_remove_{name}", **rules):
                ask(("remove", name, ""))
        if confirmed(
            ("remove", name, ""),
            f"Remove schedule {name!r} and its history? Its jobs, runs and models stay.",
            yes="Yes, remove it",
        ) and audited_step(name, owner, "removed", lambda: scheduling.remove(store, name) or True):
            st.rerun()
        schedule_history(store, schedule, settings)


def schedule_history(store: JobStore, schedule: Schedule, settings: Settings) -> None:
    runs = scheduling.history(store, schedule.name)
    if not runs:
        st.caption(
            f"Not run yet. Next run: {view.local_time(schedule.next_run_at, schedule.timezone)}."
        )
        return
    decisions = run_decisions(settings, [r.job.mlflow_run_id for r in runs if r.job.mlflow_run_id])
    st.caption(
        f"Each retrain, newest first (times in {escape_markdown(schedule.timezone)}). The "
        "champion stays unless the new version passed the promotion rule; a failed retrain "
        "changes nothing."
    )
    table = view.history_table(runs, decisions, schedule.timezone)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key=f"schedules_history_{schedule.name}",
        column_config={"details": st.column_config.TextColumn("details", width="large")},
    )
    st.page_link(
        "pages/jobs.py",
        label="The latest job on the Jobs page",
        icon=":material/pending_actions:",
        query_params={"job": runs[0].job.id},
    )


@st.cache_data(ttl=600, show_spinner=False)
def load_frame(path: str):
    return read_table(path).frame


def column_roles(task: str, version: DatasetVersion, dataset: str) -> dict[str, str | None]:
    """A selectbox of the dataset's columns for each column the template needs."""
    template = get_template(task)
    if not template.roles:
        return {}
    frame = load_frame(str(version.path))
    return role_pickers(template, frame, key=f"schedules_new_role_{task}_{{role}}_{dataset}")


def new_schedule_form(store: JobStore, settings: Settings, *, now: datetime) -> None:
    """Name, dataset, template, columns, preset, model, cron, time zone and promotion rule;
    the next three times before saving."""
    datasets = DatasetStore(settings.datasets_dir)
    names = datasets.list_names()
    if not names:
        st.info("No datasets yet. Upload one on the Data page; a schedule retrains on it.")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")
        return
    left, right = st.columns(2)
    dataset = left.selectbox(
        "Dataset",
        names,
        key="schedules_new_dataset",
        help="Each retrain reads the latest version: upload new data under the same name on "
        "the Data page and the next run trains on it.",
    )
    version = datasets.resolve(dataset)
    tasks = templates_reading(data_kind(version.path))
    task = right.selectbox(
        "Template",
        tasks,
        format_func=lambda t: get_template(t).title,
        key=f"schedules_new_task_{dataset}",
    )
    try:
        roles = column_roles(task, version, dataset)
    except DLStudioError as exc:
        show_error(exc)
        return
    preset = st.radio("Preset", PRESETS, index=1, horizontal=True, key="schedules_new_preset")
    left, right = st.columns(2)
    name = left.text_input(
        "Schedule name", value=f"{dataset}-retrain", key=f"schedules_new_name_{dataset}"
    )
    model = right.text_input(
        "Register the model as",
        value=dataset,
        key=f"schedules_new_model_{dataset}",
        help="Each retrain becomes a new version of this registered model.",
    )
    cron = left.text_input(
        "When (cron)", value="0 3 * * mon", key="schedules_new_cron", help=view.CRON_HELP
    )
    timezone = right.selectbox(
        "Time zone",
        view.COMMON_TIMEZONES,
        key="schedules_new_timezone",
        accept_new_options=True,
        help="The zone the cron times are read in; type another tz name such as Asia/Seoul.",
    )
    promote_if = st.text_input(
        "Promote only if (optional)",
        key="schedules_new_promote_if",
        placeholder="test_f1_macro>=+0.005",
        help=view.PROMOTE_IF_HELP,
    )
    try:
        upcoming = view.upcoming_runs(cron, timezone or "", now=now)
        spec = view.schedule_spec(
            task, dataset=dataset, roles=roles, preset=preset, model=model, promote_if=promote_if
        )
    except DLStudioError as exc:
        show_error(exc)
        st.button("Save schedule", disabled=True, key="schedules_new_save")
        return
    words = view.describe_cron(cron)  # built from numbers and day names only
    st.caption(
        (f"{words[0].upper()}{words[1:]}. " if words else "")
        + "Next runs: "
        + ", ".join(f"{t:%a %Y-%m-%d %H:%M}" for t in upcoming)
        + f" ({escape_markdown(timezone)})."
    )
    cannot = why_not(Action.SCHEDULE)
    if st.button(
        "Save schedule", type="primary", key="schedules_new_save", help=cannot,
        disabled=not name.strip() or cannot is not None,
    ):  # fmt: skip
        added = audited_step(name.strip(), None, f"added: {cron} ({timezone}), retrains {model}",
                             lambda: scheduling.add_schedule(
                                 store, name=name, cron=cron, spec=spec, timezone=timezone,
                                 created_by=current_user(), now=now))  # fmt: skip
        if added is None:
            return
        st.toast(escape_markdown(f"Schedule {name.strip()!r} saved."))
        st.rerun()


def models_section(settings: Settings) -> None:
    """Each registered model: its versions, promote a version, roll back the champion."""
    models = view.registered_models(settings)
    if not models:
        st.info(
            "No registered models yet. A schedule registers each retrain under its model name; "
            "training with 'Save the model as' on the Train page registers one too."
        )
        return
    for model in models:
        model_panel(model, settings)


def model_panel(model: ModelInfo, settings: Settings) -> None:
    """Its versions, a link to the MLflow UI, promote a version and roll back (both ask first)."""
    name, champion = model.name, model.champion
    st.markdown(f"#### {escape_markdown(name)}")
    st.caption(
        (f"Champion: version {champion.version}. " if champion else "No champion yet. ")
        + f"[Open in the MLflow UI]({model_url(settings.mlflow_ui_url, name)})"
    )
    st.dataframe(
        view.versions_table(model),
        hide_index=True,
        width="stretch",
        key=f"schedules_versions_{name}",
    )
    others = [v.version for v in model.versions if v is not champion]
    with st.container(horizontal=True, vertical_alignment="bottom"):
        chosen = st.selectbox(
            "Version to promote",
            others,
            key=f"schedules_promote_choice_{name}",
            placeholder="no other version",
            width=200,
        )
        cannot_promote = why_not(Action.PROMOTE)
        if st.button(
            f"Make version {chosen} the champion" if chosen else "Promote",
            disabled=chosen is None or cannot_promote is not None,
            help=cannot_promote,
            key=f"schedules_promote_{name}",
        ):
            ask(("promote", name, str(chosen)))
        cannot = why_not(Action.ROLLBACK) or (
            "No champion yet: nothing to roll back."
            if champion is None
            else "Only one version: there is no earlier champion to go back to."
            if len(model.versions) < 2
            else None
        )
        if st.button(
            "Roll back the champion",
            disabled=cannot is not None,
            help=cannot or "Give the champion back to the version that held it before.",
            key=f"schedules_rollback_{name}",
        ):
            ask(("rollback", name, ""))
    promoting = ("promote", name, st.session_state.get(CONFIRM, ("",) * 3)[2])
    try:
        if confirmed(
            promoting,
            f"Make version {promoting[2]} of {name!r} the champion? Predict "
            "uses the champion from now on.",
            yes="Yes, promote it",
        ):
            with audited_here(Action.PROMOTE, f"model {name} version {promoting[2]}",
                              detail="made the champion by hand") as done:  # fmt: skip
                decision = view.promote_version(
                    settings, name, promoting[2], by=current_user(), now=utc_now()
                )
                done.detail = f"champion was version {decision.previous_champion or '-'}"
            st.toast(escape_markdown(f"Version {decision.version} of {name!r} is the champion."))
            st.rerun()
        if confirmed(
            ("rollback", name, ""),
            f"Give the champion of {name!r} back to the version that held it before?",
            yes="Yes, roll back",
        ):
            with audited_here(Action.ROLLBACK, f"model {name}") as done:
                decision = view.roll_back(settings, name, by=current_user(), now=utc_now())
                done.detail = f"version {decision.version} is the champion again"
            st.toast(
                escape_markdown(
                    f"Rolled back: version {decision.version} of {name!r} is the champion again."
                )
            )
            st.rerun()
    except DLStudioError as exc:
        show_error(exc)
