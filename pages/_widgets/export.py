"""The Results page's ONNX export: the run's model as an ONNX graph (with its preprocessing
and a how-to beside it), checked against the model's own predictions before it is offered."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from dlstudio.auth import Action
from dlstudio.errors import DLStudioError
from dlstudio.explain.onnx_export import export_run_model
from dlstudio.settings import Settings
from dlstudio.tracking.queries import RunDetails
from pages._widgets.access import audited_here, why_not
from pages._widgets.widgets import show_message


def onnx_export(settings: Settings, details: RunDetails) -> None:
    """Export on a click (a few seconds: the graph is traced, then run in onnxruntime against
    the model), then offer the file; a model ONNX cannot express says which part and why."""
    key = f"results_onnx_{details.run_id}"
    cannot = why_not(Action.EXPORT)
    if st.button(
        "Export to ONNX",
        key="results_onnx_export",
        disabled=cannot is not None,
        help=cannot or "For phones, edge devices and runtimes without Python: the network as an "
        "ONNX graph, checked with onnxruntime against this model's own predictions, with its "
        "preprocessing and a how-to beside it.",
    ):
        try:
            with (
                audited_here(Action.EXPORT, f"run {details.run_id}", detail="ONNX"),
                st.spinner("Exporting and checking the graph..."),
            ):
                st.session_state[key] = _export(settings, details.model_uri)
        except DLStudioError as exc:
            show_message("warning", exc.message, exc.fix)
            return
    if key in st.session_state:
        name, data = st.session_state[key]
        st.download_button(
            f"Download {name}", data, file_name=name, mime="application/zip"
            if name.endswith(".zip") else "application/octet-stream", key="results_onnx_download",
        )  # fmt: skip


def _export(settings: Settings, model_uri: str) -> tuple[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="dlstudio-onnx-") as folder:
        path = export_run_model(model_uri, Path(folder), settings=settings)
        return path.name, path.read_bytes()
