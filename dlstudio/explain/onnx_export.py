"""ONNX export of registered tabular, text and image models (issue 20), for edge devices and
runtimes without Python's ML stack.

The export loads the model as dlstudio loads it (signature checked, rebuilt from its JSON and
weights), lets the template's part build an ``ExportPlan``, traces it with torch's TorchScript
exporter (``dynamo=False``: it needs no onnxscript, and every network here exports with it), and
runs the graph in onnxruntime on sample inputs: the export is refused unless its outputs match
the registered model's own predictions within ``TOLERANCE``. Files are written only after the
check passed, so a refused export leaves nothing behind, and never changes the MLflow model.

Written by hand: the plans (what goes into the graph, what ships beside it, the how-to); torch
does the tracing, onnx stores the graph, onnxruntime checks it.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from dlstudio.errors import DLStudioError, UsageError
from dlstudio.explain.onnx_plan import KEEP_USING, ExportPlan, cannot_export
from dlstudio.settings import Settings, get_settings

# the largest difference accepted: absolute for probabilities; for values (regression), relative
# to the value when it exceeds 1 (float32 networks agree to ~1e-7 relative, a house price of
# 500,000 then to ~0.05)
TOLERANCE = 1e-4
OPSET = 17
README = "README.md"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote and how faithful it is."""

    onnx: Path
    beside: tuple[Path, ...]  # preprocessing, tokenizer files, README (empty: none)
    kind: str  # the model, in words
    max_abs_difference: float  # graph vs the registered model, on ``rows_checked`` inputs
    rows_checked: int
    seconds: float
    files: tuple[Path, ...] = field(default=())  # every file written, the .onnx first
    model_uri: str = ""  # the version exported, pinned: models:/NAME/VERSION or runs:/ID/model


def export_registered(
    name: str, version: str | None, out: Path, *, settings: Settings | None = None
) -> ExportResult:
    """Export version ``version`` of the registered model ``name`` (its champion when None)
    to ``out`` (a .onnx file); preprocessing, when it ships beside, goes next to it as
    ``<stem>.preprocessing.json`` (and ``<stem>.tokenizer/``) with ``<stem>.README.md``.

    Raises:
        UsageError: ``out`` is not a .onnx path in an existing folder.
        DLStudioError: no such model or version, or the model cannot be exported (nothing is
            written then).
    """
    out = check_out(out)
    settings = settings or get_settings()
    uri = registered_uri(name, version, settings)
    return export_uri(uri, out, settings=settings, prefix=f"{out.stem}.")


def export_run_model(model_uri: str, out_dir: Path, *, settings: Settings | None = None) -> Path:
    """The file a page offers for download for the model at ``model_uri`` (for a run's own
    model: ``runs:/<run id>/model``): ``model.onnx`` when everything is in the graph, else
    ``model-onnx.zip`` holding ``model.onnx``, the preprocessing files and ``README.md``.

    Raises:
        DLStudioError: the model cannot be loaded or exported (nothing is written then).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dlstudio-onnx-", dir=out_dir) as scratch:
        result = export_uri(model_uri, Path(scratch) / "model.onnx", settings=settings, prefix="")
        if not result.beside:
            target = out_dir / "model.onnx"
            shutil.move(result.onnx, target)
            return target
        target = out_dir / "model-onnx.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in result.files:
                archive.write(path, path.relative_to(scratch).as_posix())
    return target


def export_uri(
    model_uri: str, out: Path, *, settings: Settings | None = None, prefix: str = ""
) -> ExportResult:
    """Load the model at ``model_uri`` as dlstudio does (signature checked) and export it."""
    from dlstudio.tracking.loading import load_studio_model

    model = load_studio_model(model_uri, settings or get_settings())
    return replace(export_predictor(model.predictor, out, prefix=prefix), model_uri=model.uri)


def export_predictor(predictor: Any, out: Path, *, prefix: str = "") -> ExportResult:
    """Export a loaded predictor to ``out``, its beside files named ``prefix + name`` in the
    same folder; checked with onnxruntime before anything is written.

    Raises:
        DLStudioError: the model (or a part of it) cannot be exported faithfully.
    """
    started = time.perf_counter()
    plan = plan_for(predictor)
    graph = trace(plan)
    difference = check_graph(graph, plan)
    files = write(out, graph, plan, prefix=prefix)
    rows = len(next(iter(plan.inputs.values())))
    return ExportResult(files[0], tuple(files[1:]), plan.kind, difference, rows,
                        time.perf_counter() - started, tuple(files))  # fmt: skip


def plan_for(predictor: Any) -> ExportPlan:
    """The template's plan for ``predictor``; a clear refusal for a model no plan covers."""
    planners = exporters()
    planner = planners.get(type(predictor))
    if planner is None:
        raise cannot_export(
            f"A {type(predictor).__name__.removesuffix('Predictor').lower() or 'this'} model",
            "ONNX export covers tabular classification and regression, text and image models only",
            "export a tabular, text or image model",
        )
    return planner(predictor)


def exporters() -> dict[type, Callable[[Any], ExportPlan]]:
    """Predictor type -> the function that plans its export (imported late: each pulls in its
    template, some of them transformers)."""
    from dlstudio.explain import onnx_images, onnx_tabular, onnx_text

    return {
        onnx_tabular.TabularPredictor: onnx_tabular.classification_plan,
        onnx_tabular.RegressionPredictor: onnx_tabular.regression_plan,
        onnx_text.TextPredictor: onnx_text.text_plan,
        onnx_images.ImagePredictor: onnx_images.image_plan,
    }


def trace(plan: ExportPlan) -> bytes:
    """The plan's graph as ONNX bytes, with dlstudio's metadata; the exporter's refusal as a
    ``DLStudioError`` that names the model."""
    import onnx
    import torch

    buffer = io.BytesIO()
    try:
        # gradients on (the default): without them, torch's transformer layers take a fused
        # "fast path" that the exporter cannot express
        with warnings.catch_warnings(), torch.enable_grad():
            warnings.simplefilter("ignore")  # tracer warnings about Python values: checked below
            torch.onnx.export(
                plan.graph.eval(), plan.example_tensors(), buffer,
                input_names=list(plan.inputs), output_names=plan.outputs,
                dynamic_axes=plan.dynamic_axes, opset_version=OPSET, dynamo=False,
            )  # fmt: skip
    except Exception as error:  # noqa: BLE001 - any exporter failure is this refusal
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise cannot_export(
            f"The {plan.kind}",
            f"the ONNX exporter refused one of its layers ({first[:300]})",
            "report it with the model's kind; meanwhile use the registered model",
        ) from None
    model = onnx.load_from_string(buffer.getvalue())
    for key, value in {"dlstudio.kind": plan.kind, **_prefixed(plan.metadata)}.items():
        model.metadata_props.add(key=key, value=value)
    return model.SerializeToString()


def _prefixed(metadata: dict[str, Any]) -> dict[str, str]:
    return {
        f"dlstudio.{k}": v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()
    }


def check_graph(graph: bytes, plan: ExportPlan) -> float:
    """The largest difference between the graph's ``plan.compared`` output in onnxruntime and
    the registered model's own prediction (absolute; relative for values above 1 when
    ``plan.relative``); refused above ``TOLERANCE``."""
    outputs = run_graph(graph, plan.inputs)
    produced = np.asarray(outputs[plan.outputs.index(plan.compared)], dtype=np.float64)
    expected = np.asarray(plan.expected, dtype=np.float64)
    if produced.shape != expected.shape:
        raise _mismatch(plan, f"shape {produced.shape} instead of {expected.shape}")
    both_nan = np.isnan(produced) & np.isnan(expected)
    scale = np.maximum(np.abs(expected), 1.0) if plan.relative else 1.0
    differences = np.abs(produced - expected) / scale
    difference = float(np.max(np.where(both_nan, 0.0, differences), initial=0.0))
    if not difference <= TOLERANCE:  # also catches NaN
        raise _mismatch(plan, f"differences up to {difference:.2g}, more than {TOLERANCE:g}")
    return difference


def run_graph(graph: bytes | Path, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The graph's outputs in onnxruntime on the CPU; only the inputs the graph lists are fed
    (a network that ignores an input has none in its graph)."""
    import onnxruntime as ort

    source = str(graph) if isinstance(graph, Path) else graph
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: arrays[i.name] for i in session.get_inputs()})


def _mismatch(plan: ExportPlan, what: str) -> DLStudioError:
    return cannot_export(
        f"The {plan.kind}",
        f"its ONNX graph does not reproduce the model's predictions ({what})",
        "report it with the model's kind; meanwhile use the registered model",
    )


def write(out: Path, graph: bytes, plan: ExportPlan, *, prefix: str) -> list[Path]:
    """Write the graph, its beside files and README (when anything ships beside it); the
    paths written, the graph first. Files land only when all of them could be staged."""
    names = {"model": out.name, "preprocessing": f"{prefix}preprocessing.json",
             "tokenizer": f"{prefix}tokenizer"}  # fmt: skip
    staged = {out.name: graph}
    if plan.beside:
        staged |= {f"{prefix}{name}": data for name, data in plan.beside.items()}
        staged[f"{prefix}{README}"] = Template(plan.howto).safe_substitute(names).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix=".dlstudio-onnx-", dir=out.parent) as scratch:
        for name, data in staged.items():
            (Path(scratch) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(scratch) / name).write_bytes(data)
        for name in staged:
            target = out.parent / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(Path(scratch) / name, target)
    return [out.parent / name for name in staged]


def check_out(out: Path) -> Path:
    """``out`` as a writable .onnx path in an existing folder (checked before any loading)."""
    out = Path(out).expanduser()
    if out.suffix.lower() != ".onnx":
        raise UsageError(f"--out {str(out)!r} does not end in .onnx.",
                         fix="name the file to write, e.g. --out churn.onnx")  # fmt: skip
    if not out.parent.is_dir():
        raise UsageError(
            f"the folder {str(out.parent)!r} of --out does not exist; nothing was written.",
            fix=f"create it first (mkdir -p {out.parent}) or choose another --out",
        )
    if out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a folder.", fix="give a file name ending .onnx")
    return out


def registered_uri(name: str, version: str | None, settings: Settings) -> str:
    """``models:/NAME/VERSION`` of an existing version (the champion's when ``version`` is
    None); the versions and the champion are named when the one asked for does not exist."""
    from mlflow.tracking import MlflowClient

    from dlstudio.tracking.registry import describe_model
    from dlstudio.tracking.setup import configure_tracking

    configure_tracking(settings)
    model = describe_model(name, MlflowClient())
    numbers = [v.version for v in model.versions]
    listed = ", ".join(numbers) or "none"
    if version is None:
        if model.champion is None:
            raise DLStudioError(f"{name!r} has no champion to export.",
                                fix=f"give --version N (versions: {listed})")  # fmt: skip
        return f"models:/{name}/{model.champion.version}"
    if str(version) not in numbers:
        raise DLStudioError(
            f"{name!r} has no version {version!r}.",
            fix=f"choose one of its versions: {listed} (`dlstudio models list`)",
        )
    return f"models:/{name}/{version}"


__all__ = ["KEEP_USING", "TOLERANCE", "ExportResult", "export_registered", "export_run_model"]
