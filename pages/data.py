"""Data: upload tables and ZIPs of images as named, versioned datasets; look at them and check
them before training."""

import streamlit as st

from dlstudio.auth import Action
from dlstudio.charts import target_balance
from dlstudio.data.catalog import catalog_frame
from dlstudio.data.readers import LoadedTable, read_table
from dlstudio.data.report import (
    DataReport,
    ImageReport,
    report_images,
    report_table,
    suggest_target,
)
from dlstudio.data.store import DatasetStore
from dlstudio.data.uploads import DATASET_TYPES, name_from_filename
from dlstudio.errors import DLStudioError
from dlstudio.settings import get_settings
from dlstudio.tasks import get_template
from dlstudio.views.datasets import data_kind, suggest_task, templates_reading
from dlstudio.views.text import escape_markdown, plain_dates
from pages._widgets.access import audited_here, current_user, why_not
from pages._widgets.images import image_dataset
from pages._widgets.widgets import ensure_navigation, show_message

ensure_navigation()

PREVIEW_ROWS = 20


@st.cache_data(show_spinner="Reading the dataset...", max_entries=8)
def load_table(name: str, version: str) -> LoadedTable:
    """The stored version's table (a version is its content hash, so the key never goes stale)."""
    return read_table(DatasetStore.default().resolve(f"{name}@{version}").path)


@st.cache_data(show_spinner="Checking the data...", max_entries=32)
def load_report(name: str, version: str, target: str, task: str) -> DataReport:
    table = load_table(name, version)
    return report_table(table, source=f"{name}@{version}", target=target, task=task)


@st.cache_data(show_spinner="Reading the images...", max_entries=8)
def load_image_report(name: str, version: str, task: str) -> ImageReport:
    return report_images(f"{name}@{version}", task=task, settings=get_settings())


def manage(store: DatasetStore, name: str) -> None:
    st.subheader(escape_markdown(f"Manage {name!r}"))
    owner = store.owner(name)
    cannot_rename = why_not(Action.RENAME, owner=owner)
    cannot_delete = why_not(Action.DELETE, owner=owner)
    left, right = st.columns(2)
    left.text_input("New name", key="data_new_name", disabled=cannot_rename is not None)
    left.button("Rename", on_click=rename, args=(store, name), key="data_rename",
                disabled=cannot_rename is not None, help=cannot_rename)  # fmt: skip
    sure = right.checkbox(
        escape_markdown(f"Delete {name!r} and all its versions"), key=f"data_confirm_{name}",
        disabled=cannot_delete is not None, help=cannot_delete,
    )  # fmt: skip
    right.button(
        "Delete", disabled=not sure or cannot_delete is not None, on_click=delete,
        args=(store, name), key="data_delete", help=cannot_delete,
    )  # fmt: skip


def rename(store: DatasetStore, old: str) -> None:
    new = st.session_state.data_new_name.strip()
    try:
        with audited_here(Action.RENAME, f"dataset {old}", owner=store.owner(old),
                          detail=f"to {new}"):  # fmt: skip
            store.rename(old, new)
    except DLStudioError as exc:
        st.session_state.data_flash = ("error", exc.message, exc.fix)
        return
    st.session_state.data_flash = ("success", f"Renamed {old!r} to {new!r}.")
    st.session_state.data_dataset, st.session_state.data_new_name = new, ""


def delete(store: DatasetStore, name: str) -> None:
    try:
        with audited_here(Action.DELETE, f"dataset {name}", owner=store.owner(name)):
            store.delete(name)
    except DLStudioError as exc:
        st.session_state.data_flash = ("error", exc.message, exc.fix)
        return
    st.session_state.data_flash = ("success", f"Deleted dataset {name!r} and all its versions.")
    st.session_state.pop("data_dataset", None)  # the first remaining dataset is shown


store = DatasetStore.default()
st.title("Data")
st.caption(
    "Upload a table or a ZIP of images, look at it, and fix what would spoil training before "
    "you train."
)
if flash := st.session_state.pop("data_flash", None):  # left by a rename or delete
    show_message(*flash)

cannot_upload = why_not(Action.UPLOAD)
if cannot_upload:
    st.caption(escape_markdown(cannot_upload))
with st.expander("Upload data", expanded=not store.list_names() and not cannot_upload):
    upload = st.file_uploader(
        f"CSV, Excel (.xlsx), Parquet, or a ZIP of images, up to {get_settings().max_upload_mb} MB",
        type=list(DATASET_TYPES),
        key="data_upload",
        help="A table has one row per example. A ZIP of images has one folder per class "
        "(cats/1.jpg, dogs/2.jpg), optionally inside train/, val/ and test/ folders.",
        disabled=cannot_upload is not None,
    )
    if upload is not None:
        dataset_name = st.text_input(
            "Dataset name",
            value=name_from_filename(upload.name),
            key=f"data_name_{upload.file_id}",
            help="Letters, digits, '_', '.' or '-'. Saving under an existing name adds a version.",
        )
        if st.button("Save", type="primary", key="data_save"):
            try:
                with audited_here(Action.UPLOAD, f"dataset {dataset_name.strip()}",
                                  detail=f"file {upload.name}") as done:  # fmt: skip
                    stored = store.save(dataset_name.strip(), upload.getvalue(),
                                        filename=upload.name, by=current_user().name)  # fmt: skip
                    done.detail += f", version {stored.version}"
            except DLStudioError as exc:
                show_message("error", exc.message, exc.fix)
            else:
                st.success(escape_markdown(f"Saved {stored.name!r} (version {stored.version})."))
                st.session_state.data_dataset = stored.name

names = store.list_names()
if not names:
    st.info(
        "No datasets yet. Upload a CSV, Excel or Parquet file, or a ZIP of images, above to get "
        "started."
    )
    st.stop()
st.dataframe(catalog_frame(store), hide_index=True, width="stretch", key="data_catalog")

name = st.selectbox("Dataset", names, key="data_dataset")
versions = [stored.version for stored in store.versions(name)]
version = st.selectbox("Version (newest first)", versions, key=f"data_version_{name}")
if data_kind(store.resolve(f"{name}@{version}").path) == "images":
    try:
        image_report = load_image_report(name, version, templates_reading("images")[0])
    except DLStudioError as exc:
        show_message("error", exc.message, exc.fix)
    else:
        image_dataset(image_report, name=name)
    manage(store, name)
    st.stop()
try:
    table = load_table(name, version)
except DLStudioError as exc:
    show_message("error", exc.message, exc.fix)
    st.stop()
for note in table.notes:
    st.caption(escape_markdown(note))
st.dataframe(plain_dates(table.frame.head(PREVIEW_ROWS)), width="stretch", key="data_preview")

tasks = templates_reading("table")
task = st.selectbox(
    "Template",
    tasks,
    index=tasks.index(suggest_task(table.frame, name=name)),
    format_func=lambda t: get_template(t).title,
    key=f"data_task_{name}_{version}",
    help="The kind of model to check the data for; it opens on the one this data suits.",
)
columns = [str(column) for column in table.frame.columns]
target = st.selectbox(
    "Column to predict (target)",
    columns,
    index=columns.index(suggest_target(table.frame, task=task)),
    key=f"data_target_{name}_{version}",
)
report = load_report(name, version, target, task)
st.dataframe(report.profile.to_frame(), hide_index=True, width="stretch", key="data_profile")
if report.profile.target_balance:
    st.altair_chart(target_balance(report.profile.target_balance), key="data_balance")
for finding in report.findings:
    show_message(finding.level, finding.message, finding.fix)
if not any(finding.level == "error" for finding in report.findings):
    st.success(
        escape_markdown(f"Ready to train: predict {target!r} from {name!r} on the Train page.")
    )

manage(store, name)
