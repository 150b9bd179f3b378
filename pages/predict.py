"""Predict: score a file (or classify images) with a registered model (or a run's model) and
download the result."""

from pathlib import Path

import streamlit as st

from dlstudio import charts
from dlstudio.auth import Action
from dlstudio.data.uploads import ARCHIVE_TYPES, IMAGE_TYPES, TABLE_TYPES, read_upload
from dlstudio.errors import DLStudioError
from dlstudio.predict import (
    explains,
    forecast_extent,
    is_row_wise,
    load_model,
    model_card,
    predict_frame,
    registered_models,
    run_model_uri,
)
from dlstudio.settings import get_settings
from dlstudio.tracking.queries import finished_run_choices
from dlstudio.views.image_try import predict_image_files, reads_images
from dlstudio.views.text import answers_first, inline_code
from pages._widgets.access import record_once, why_not
from pages._widgets.widgets import ensure_navigation, show_message

ensure_navigation()

settings = get_settings()
EXPLAIN_ROWS = 5_000  # reasons take about 2 s per 100 rows with TabM (bench/explain.py)


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def cached_model(model_uri: str, tracking_uri: str):
    """A loaded model, shared by every session; ``tracking_uri`` is part of the key because
    the same URI names another model in another tracking store."""
    return load_model(model_uri, settings)


@st.cache_data(show_spinner=False, max_entries=4)
def explained(model_uri: str, tracking_uri: str, data: bytes, filename: str):
    """Predictions with their reasons (seconds per thousand rows: kept across reruns)."""
    frame = read_upload(data, filename=filename).frame
    return predict_frame(cached_model(model_uri, tracking_uri), frame, explain=True)


def show_error(exc: DLStudioError) -> None:
    show_message("error", exc.message, exc.fix)


st.title("Predict")
st.caption(
    "Score new rows (or classify new images) with a trained model and download the predictions."
)
models = {model.name: model for model in registered_models(settings)}
runs = finished_run_choices(settings)
if not models and not runs:
    st.info(
        "No trained models yet. Train one on the Train page; it is registered under the name "
        "you give it, and its first version becomes the `champion` this page uses by default."
    )
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

sources = ["Registered model"] * bool(models) + ["A run's model"] * bool(runs)
source = st.radio("Model", sources, horizontal=True, key="predict_source")
if source == "Registered model":
    name = st.selectbox("Registered model", list(models), key="predict_model")
    choices = models[name].choices()
    label = st.selectbox("Version", list(choices), key=f"predict_version_{name}")
    model_uri = choices[label]
else:
    run_id = st.selectbox("Run", list(runs), format_func=runs.get, key="predict_run")
    try:
        model_uri = run_model_uri(run_id)
    except DLStudioError as exc:
        show_error(exc)
        st.stop()

try:  # the model itself loads only once the user gives it something to score
    card = model_card(model_uri, settings)
except DLStudioError as exc:
    show_error(exc)
    st.stop()

if cannot := why_not(Action.PREDICT):  # checked here, before anything is uploaded or scored
    show_message("info", cannot, "ask an admin for the analyst role to predict")
    st.stop()
if reads_images(card):
    uploads = st.file_uploader(
        f"Images to classify: image files or ZIPs of images, up to {settings.max_upload_mb} MB "
        "each",
        type=[*IMAGE_TYPES, *ARCHIVE_TYPES],
        accept_multiple_files=True,
        key="predict_images",
        help="JPEG, PNG, BMP, WebP or GIF files, or ZIPs of them in any folder layout. Files "
        "that are not images are listed with the reason.",
    )
    if not uploads:
        st.stop()
    try:
        model = cached_model(model_uri, settings.mlflow_tracking_uri)
        batch = predict_image_files(model, [(upload.name, upload.getvalue()) for upload in uploads])
    except DLStudioError as exc:
        show_error(exc)
        st.stop()
    predictions = batch.table
    record_once("predict:" + ",".join(u.file_id for u in uploads), Action.PREDICT,
                model_uri, f"{batch.classified} images")  # fmt: skip
    stem = Path(uploads[0].name).stem if len(uploads) == 1 else "images"
    images = "image" if batch.classified == 1 else "images"
    st.caption(f"{batch.classified:,} {images} classified with {inline_code(model_uri)}.")
    if batch.unread:
        st.warning(
            f"{batch.unread:,} of the files could not be classified: the problem column says why."
        )
else:
    row_wise = is_row_wise(card)
    upload = st.file_uploader(
        f"{'Rows to score' if row_wise else 'History to forecast from'}: CSV, Excel (.xlsx) or "
        f"Parquet, up to {settings.max_upload_mb} MB",
        type=list(TABLE_TYPES),
        key="predict_upload",
        help="The same columns as the training file; the target column is not needed."
        if row_wise
        else "The same columns as the training file, with the history of each series: at "
        "least the model's window, and better all of it, since the statistical models in the "
        "blend are refitted on what you give. A model with covariates also needs rows for the periods "
        "to forecast, with the covariates filled and the target empty.",
    )
    explain = row_wise and explains(card) and st.toggle(
        "Explain each prediction",
        key="predict_explain",
        help="Adds reason_1 to reason_3: the three columns that raise or lower each row's "
        "prediction the most, compared with typical rows of the training data. It takes longer: "
        "about 2 seconds per 100 rows, and at most 5,000 rows here.",
    )
    if upload is None:
        st.stop()
    try:
        model = cached_model(model_uri, settings.mlflow_tracking_uri)
        frame = read_upload(upload.getvalue(), filename=upload.name).frame
        if explain and len(frame) > EXPLAIN_ROWS:
            show_message(
                "warning",
                f"The file has {len(frame):,} rows: explaining more than {EXPLAIN_ROWS:,} here "
                "would keep the page busy for many minutes, so these predictions have no reasons.",
                f"Upload the rows you want explained (up to {EXPLAIN_ROWS:,}), or run "
                "`dlstudio predict --explain` on the command line for the whole file.",
            )
            explain = False
        if explain:
            with st.spinner(f"Explaining {len(frame):,} predictions..."):
                predictions = explained(model_uri, settings.mlflow_tracking_uri, upload.getvalue(),
                                        upload.name)  # fmt: skip
        else:
            predictions = predict_frame(model, frame)
    except DLStudioError as exc:
        show_error(exc)
        st.stop()
    record_once(f"predict:{upload.file_id}:{explain}", Action.PREDICT, model_uri,
                f"{len(predictions)} rows of {upload.name}")  # fmt: skip
    stem = Path(upload.name).stem
    if row_wise:
        st.caption(f"{len(predictions):,} rows scored with {inline_code(model_uri)}.")
    else:
        st.caption(f"Forecast of {forecast_extent(predictions)} with {inline_code(model_uri)}.")
        history, future = model.predictor.chart_frames(frame, predictions)
        names = sorted(future["series"].unique())
        series = st.selectbox("Series", names, key="predict_series") if len(names) > 1 else names[0]
        st.altair_chart(charts.forecast(history, None, future, series=series))
        if "forecast_p10" in future:
            st.caption(
                "Shaded: the 80% interval, where the actual value should fall 8 times in 10."
            )

st.dataframe(answers_first(predictions), hide_index=True, width="stretch", key="predict_table")
st.download_button(
    "Download predictions (CSV)",
    predictions.to_csv(index=False),
    file_name=f"{stem}_predictions.csv",
    mime="text/csv",
    on_click="ignore",
    key="predict_download",
)
