"""Train: pick a template, a dataset and its columns, a preset; check; submit a background job."""

import json
from typing import get_args

import streamlit as st

from dlstudio.auth import Action
from dlstudio.data.readers import read_table
from dlstudio.data.store import DatasetStore
from dlstudio.errors import DLStudioError
from dlstudio.jobs.store import utc_now
from dlstudio.search.space import describe_space
from dlstudio.settings import get_settings
from dlstudio.spec import Preset, TrainingSpec, dump_spec, parse_spec
from dlstudio.tasks import get_template, task_names
from dlstudio.training.runner import check_run
from dlstudio.views.datasets import data_kind, template_for
from dlstudio.views.forms import advanced_fields, build_spec
from dlstudio.views.jobs import duration
from dlstudio.views.status import device_status
from dlstudio.views.text import escape_markdown
from pages._widgets.access import audited_here, current_user, why_not
from pages._widgets.widgets import (
    ensure_navigation,
    field_widget,
    job_store,
    role_pickers,
    show_message,
)

ensure_navigation()


@st.cache_data(ttl=600, show_spinner=False)
def load_frame(path: str):
    return read_table(path).frame


@st.cache_data(ttl=600, show_spinner="Checking the data...")
def run_checks(spec_json: str):
    return check_run(parse_spec(json.loads(spec_json)), get_settings())[1]


def match_template() -> None:
    """Choosing a ZIP of images chooses the image template; a table, a table template."""
    chosen = store.resolve(st.session_state["train_dataset_choice"])
    current = st.session_state.get("train_task")
    st.session_state["train_task"] = template_for(data_kind(chosen.path), current=current)


settings = get_settings()
store = DatasetStore(settings.datasets_dir)
datasets = store.list_names()
preselected = st.session_state.get("train_dataset")
if preselected not in datasets:
    preselected = next(iter(datasets), None)
st.title("Train a model")

st.subheader("1. What do you want to do?")
names = task_names()
if "train_task" not in st.session_state:  # first visit: a template that reads that data
    kind = data_kind(store.resolve(preselected).path) if preselected else "table"
    st.session_state["train_task"] = template_for(kind)
for name, column in zip(names, st.columns(len(names)), strict=True):
    template = get_template(name)
    with column.container(border=True):
        st.markdown(f"**{template.title}**")
        st.caption(f"{template.description}  \n*Needs:* {template.data_needs}")
        chosen = st.session_state["train_task"] == name
        if st.button("Chosen" if chosen else "Choose", key=f"train_pick_{name}", disabled=chosen):
            st.session_state["train_task"] = name
            st.rerun()
template = get_template(st.session_state["train_task"])

st.subheader("2. Which data?")
if not datasets:
    st.info(
        "No datasets yet. Upload a table or a ZIP of images on the Data page, or try a sample "
        "on Home."
    )
    st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")
    st.stop()
dataset = st.selectbox(
    "Dataset",
    datasets,
    index=datasets.index(preselected),
    key="train_dataset_choice",
    on_change=match_template,
)
version = store.resolve(dataset)
if data_kind(version.path) == "images":  # nothing to read here: the check reads the images
    frame, rows, columns = None, version.n_rows or 0, []
    st.caption(f"Version {version.version}: {rows:,} images in {version.n_columns or 0} classes.")
else:
    try:
        frame = load_frame(str(version.path))
    except DLStudioError as exc:
        show_message("error", exc.message, exc.fix)
        st.stop()
    rows, columns = len(frame), list(frame.columns)
    st.caption(f"Version {version.version}: {rows:,} rows, {len(columns)} columns.")
roles = (
    role_pickers(template, frame, key=f"train_role_{template.name}_{{role}}_{dataset}")
    if frame is not None
    else {}
)

st.subheader("3. How long may it train?")
gpu = device_status().gpu
presets = list(get_args(Preset))


def preset_label(preset: str) -> str:
    seconds = template.estimate_seconds(rows, preset, gpu=gpu)
    return preset if seconds is None else f"{preset} (up to ~{duration(seconds)})"


preset = st.radio(
    "Preset",
    presets,
    index=presets.index(TrainingSpec().preset),  # the spec's default: balanced
    format_func=preset_label,
    horizontal=True,
    key="train_preset",
)
st.caption(
    "fast: a quick first model; balanced: a good default; best: bigger and longer. "
    "Early stopping usually ends sooner than the estimate."
)
search = st.toggle(
    "Search for better settings",
    key="train_search",
    help="Train several models with different settings within a time budget, each judged on "
    "the validation rows; hopeless ones are stopped early. Every try is a run in MLflow, under "
    f"one search run. Searched: {describe_space(template.name)}.",
)
search_minutes = search_workers = None
if search:
    minutes_column, workers_column = st.columns(2)
    search_minutes = minutes_column.number_input(
        "Search budget (minutes)", min_value=1, max_value=24 * 60, value=5, step=1,
        key="train_search_minutes",
        help="The search stops starting new tries after this time; the one running finishes.",
    )  # fmt: skip
    search_workers = workers_column.number_input(
        "Tries at once", min_value=1, max_value=8, value=1, step=1, key="train_search_workers",
        help="Each try at once takes a worker: the search queues a helper job for each extra "
        "one. More only helps with as many workers running (see the Jobs page).",
    )  # fmt: skip
with st.expander("Advanced options"):
    advanced = {
        field.path: field_widget(
            field, key=f"train_adv_{template.name}_{field.path}", columns=columns
        )
        for field in advanced_fields(
            template.name, asked=[role.spec_path for role in template.roles]
        )
    }

st.subheader("4. Check and submit")
register_as = st.text_input(
    "Save the model as",
    value=dataset,
    key=f"train_register_{dataset}",
    help="A registered model name: Predict and scheduled retraining find the model by it. "
    "Its first version becomes the 'champion'. Leave empty to only log the run."
    + (" A search saves its best try's model when it ends." if search else ""),
)
advanced["tracking.register_as"] = register_as.strip() or None
advanced["search.budget"] = f"{search_minutes}m" if search else None
advanced["search.workers"] = int(search_workers) if search and search_workers > 1 else None
try:
    spec = build_spec(
        template.name,
        dataset=version.ref,
        roles=roles,
        role_paths={role.key: role.spec_path for role in template.roles},
        preset=preset,
        advanced=advanced,
    )
    findings = run_checks(json.dumps(spec.model_dump(mode="json")))
except DLStudioError as exc:
    show_message("error", exc.message, exc.fix)
    st.stop()
errors = [f for f in findings if f.level == "error"]
for finding in findings:
    show_message("error" if finding.level == "error" else "warning", finding.message, finding.fix)
if not findings:
    st.success("The data passed every check.")
with st.expander("Show as YAML"):
    text = dump_spec(spec)
    st.code(text, language="yaml")
    st.download_button("Download spec", text, file_name="spec.yaml", key="train_download")
    st.caption("Run the same from a terminal: `dlstudio train spec.yaml`")
spec_json = json.dumps(spec.model_dump(mode="json"), sort_keys=True)
submitted = st.session_state.get("train_submitted", {})  # spec -> job id, this session
cannot_train = why_not(Action.TRAIN)
if cannot_train:
    st.caption(escape_markdown(cannot_train))
if st.button(
    "Train", type="primary", key="train_submit", help=cannot_train,
    disabled=bool(errors) or spec_json in submitted or cannot_train is not None,
):  # fmt: skip
    try:
        with audited_here(Action.TRAIN, f"dataset {spec.data.dataset or spec.data.path}",
                          detail=f"{spec.task}, preset {spec.training.preset}") as done:  # fmt: skip
            job = job_store().submit(
                spec.model_dump(mode="json"), submitted_by=current_user().name, now=utc_now()
            )
            done.detail += f"; job {job.id}"
    except DLStudioError as exc:
        show_message("error", exc.message, exc.fix)
        st.stop()
    st.session_state["train_submitted"] = {**submitted, spec_json: job.id}
    st.session_state["jobs_selected"] = job.id
    st.rerun()  # draw the page again with the button disabled for this spec
if spec_json in st.session_state.get("train_submitted", {}):
    job_id = st.session_state["train_submitted"][spec_json]
    st.success(
        f"Job {job_id} is queued. Follow its progress on the Jobs page; change a setting "
        "to train another model."
    )
    st.page_link(
        "pages/jobs.py", label="Watch progress", icon=":material/pending_actions:",
        query_params={"job": job_id},
    )  # fmt: skip
