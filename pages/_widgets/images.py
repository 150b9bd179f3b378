"""Streamlit sections for image data and image models: a ZIP of class folders on the Data page,
a run's mistakes and the one-image classifier on the Results page."""

from __future__ import annotations

import streamlit as st

from dlstudio.charts import target_balance
from dlstudio.data.report import ImageReport
from dlstudio.data.uploads import IMAGE_TYPES
from dlstudio.errors import DLStudioError
from dlstudio.tracking.queries import RunDetails
from dlstudio.views.image_try import image_heat, predict_image
from dlstudio.views.text import escape_markdown
from dlstudio.views.text_try import LabelPrediction
from pages._widgets.answers import show_answer
from pages._widgets.widgets import show_message

THUMBNAIL_WIDTH = 96
HEAT_LEGEND = "Red: the parts that led the model to its answer; blue: parts it did not use."


def image_dataset(report: ImageReport, *, name: str) -> None:
    """Counts, class balance, a few images of each class, the checks and the files left out."""
    counts = st.columns(3)
    counts[0].metric("Images", f"{report.n_images:,}", border=True)
    counts[1].metric("Classes", report.n_classes, border=True)
    counts[2].metric("Files left out", len(report.skipped), border=True)
    if report.split_counts:
        folders = ", ".join(f"{split} {count:,}" for split, count in report.split_counts.items())
        st.caption(escape_markdown(f"Images per split folder: {folders}."))
    st.altair_chart(target_balance(report.class_counts, unit="images"), key="data_image_balance")
    for label, thumbnails in report.thumbnails.items():
        st.markdown(f"**{escape_markdown(label)}** ({report.class_counts[label]:,} images)")
        st.image(thumbnails, width=THUMBNAIL_WIDTH)
    if 0 < len(report.thumbnails) < report.n_classes:
        st.caption(f"Images of the first {len(report.thumbnails)} of {report.n_classes} classes.")
    for finding in report.findings:
        show_message(finding.level, finding.message, finding.fix)
    if report.skipped:
        with st.expander(f"Files left out ({len(report.skipped):,})"):
            table = report.skipped_table()
            st.dataframe(table, hide_index=True, width="stretch", key="data_skipped")
    if report.ready:
        st.success(
            escape_markdown(
                f"Ready to train: sort images into {report.n_classes} classes with {name!r} on "
                "the Train page."
            )
        )


def image_mistakes(details: RunDetails) -> None:
    """The test images the model got wrong while most sure: their thumbnails and a table."""
    st.subheader("Mistakes")
    st.caption(
        "The test images the model got wrong while it was most sure of its answer, the surest "
        "first (at most 24). Look for mislabelled images, classes that look alike, or images "
        "unlike the rest of their class."
    )
    if details.mistakes is None or details.mistakes.empty:
        st.info("No mistakes on the test images.")
        return
    caption = "Each image: true class -> predicted (probability)."
    if details.mistakes_heat is not None and st.toggle(
        "Show where the model looked",
        key="results_mistake_heat",
        help="Grad-CAM: the parts of each photo that raised the chance of the wrong class.",
    ):
        st.image(details.mistakes_heat, caption=f"{caption} {HEAT_LEGEND}")
    else:
        st.image(details.mistakes_sheet, caption=caption)
    st.dataframe(
        details.mistakes,
        hide_index=True,
        key="results_image_mistakes",
        column_order=["true", "predicted", "probability", "image"],
        column_config={
            "true": "True class",
            "predicted": "Predicted",
            "probability": st.column_config.NumberColumn(
                "Probability", format="percent", help="How sure the model was of its answer."
            ),
            "image": st.column_config.TextColumn("File", help="The image's path in the ZIP."),
        },
    )


def try_image(details: RunDetails) -> None:
    """Upload an image: the model's class, each class's probability and where it looked."""
    st.subheader("Classify an image")
    image = st.file_uploader(
        "Image",
        type=list(IMAGE_TYPES),
        key="results_image",
        help="A JPEG, PNG, BMP, WebP or GIF file. The model sees it resized to a square, "
        "as in training.",
    )
    if image is None:
        return
    picture = image.getvalue()
    answer: list[LabelPrediction] = []

    def ask(model) -> LabelPrediction:
        answer.append(predict_image(model, picture, filename=image.name))
        return answer[0]

    model = show_answer(
        details, ask, label="Predicted class", key="results_image_probabilities", picture=picture
    )
    if model is None:
        return
    try:
        with st.spinner("Finding where the model looked..."):
            heat = image_heat(model, picture, answer[0].label)
    except DLStudioError as exc:
        show_message("warning", exc.message, exc.fix)
        return
    st.image(heat, width=320, caption=f"Where the model found {answer[0].label!r}. {HEAT_LEGEND}")
