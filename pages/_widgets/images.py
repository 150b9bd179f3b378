"""Streamlit sections for image data and image models: a ZIP of class folders on the Data page,
a run's mistakes and the one-image classifier on the Results page."""

from __future__ import annotations

import streamlit as st

from dlstudio.charts import target_balance
from dlstudio.data.report import ImageReport
from dlstudio.tracking.queries import RunDetails
from dlstudio.views.text import escape_markdown
from pages._widgets.widgets import show_message

THUMBNAIL_WIDTH = 96


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
    st.image(details.mistakes_sheet, caption="Each image: true class -> predicted (probability).")
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
