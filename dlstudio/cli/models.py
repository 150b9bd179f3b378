"""``dlstudio models list|promote|rollback|trust|threshold|export``: the registered models and their
champions."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from dlstudio.cli.common import acting_name, add_command, audited_command
from dlstudio.errors import DLStudioError


def add_model_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``models list|promote|rollback|trust|export`` under the top-level parser."""
    models = commands.add_parser(
        "models", help="registered models: list, promote, roll back, trust, export"
    )
    sub = models.add_subparsers(title="models commands", required=True)
    listing = add_command(sub, "list", "registered models, versions, scores and champion", _list)
    listing.add_argument("--json", action="store_true")
    promote = add_command(sub, "promote", "make a version the champion", _promote)
    promote.add_argument("name", help="registered model name")
    promote.add_argument("version", help="version number to promote")
    promote.add_argument("--reason", default="promoted by hand", help="recorded with the decision")
    rollback = add_command(sub, "rollback", "give the champion back to the previous one", _rollback)
    rollback.add_argument("name", help="registered model name")
    trust = add_command(
        sub, "trust", "vouch for a version this studio did not sign (trained before "
        "signatures, or by another studio), so that dlstudio loads it", _trust,
    )  # fmt: skip
    trust.add_argument("name", help="registered model name")
    trust.add_argument("--version", required=True, help="version number to trust")
    threshold = add_command(
        sub, "threshold", "answer the positive class of a two-class model from another "
        "threshold: a new version, made the champion (models rollback undoes it)", _threshold,
    )  # fmt: skip
    threshold.add_argument("name", help="registered model name")
    threshold.add_argument("--version", help="version to start from (default: the champion)")
    threshold.add_argument("--threshold", type=float, required=True,
                           help="0.01 to 0.99 in steps of 0.01")  # fmt: skip
    threshold.add_argument("--reason", default="", help="recorded with the decision")
    export = add_command(
        sub, "export", "write a version as an ONNX graph (preprocessing beside it when it cannot "
        "be in the graph), checked against the model's own predictions", _export,
    )  # fmt: skip
    export.add_argument("name", help="registered model name")
    export.add_argument("--version", help="version number to export (default: the champion)")
    export.add_argument("--format", choices=["onnx"], default="onnx", help="file format")
    export.add_argument("--out", required=True, help="the .onnx file to write (its folder exists)")


def _client():
    from mlflow.tracking import MlflowClient

    from dlstudio.settings import get_settings
    from dlstudio.tracking.setup import configure_tracking

    configure_tracking(get_settings())
    return MlflowClient()


def _list(args: argparse.Namespace) -> int:
    from dlstudio.tracking.registry import list_models

    models = list_models(_client())
    if args.json:
        print(json.dumps([m.to_json() for m in models], indent=2))
        return 0
    if not models:
        print("No registered models yet. Train with --register NAME to register one.")
    for model in models:
        print(
            f"{model.name}  (champion: version {model.champion.version if model.champion else '-'})"
        )
        for version in model.versions:
            aliases = f" [{', '.join(version.aliases)}]" if version.aliases else ""
            score = version.metrics.get(f"test_{version.primary_metric}")
            scored = f"  test {version.primary_metric} {score:.4f}" if score is not None else ""
            decided = version.decision.get("decision")
            why = f"  ({decided}: {version.decision.get('reason', '')})" if decided else ""
            print(f"  version {version.version}{aliases}  {version.created_at}{scored}{why}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from dlstudio.tracking.promotion import promote

    with audited_command("promote", f"model {args.name} version {args.version}",
                         detail=args.reason or "") as done:  # fmt: skip
        decision = promote(args.name, args.version, reason=args.reason, by=acting_name(),
                           now=datetime.now(UTC), client=_client())  # fmt: skip
        done.detail = f"champion was version {decision.previous_champion or '-'}"
    before = f" (was version {decision.previous_champion})" if decision.previous_champion else ""
    print(f"{decision.model}: version {decision.version} is the champion{before}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from dlstudio.tracking.promotion import rollback

    with audited_command("roll back", f"model {args.name}") as done:
        decision = rollback(args.name, by=acting_name(), now=datetime.now(UTC), client=_client())
        done.detail = f"version {decision.version} is the champion again"
    print(f"{decision.model}: version {decision.version} is the champion again "
          f"(was version {decision.previous_champion})")  # fmt: skip
    return 0


def _trust(args: argparse.Namespace) -> int:
    from dlstudio.settings import get_settings
    from dlstudio.tracking.loading import trust_model_version

    with audited_command("trust model", f"model {args.name} version {args.version}"):
        trust_model_version(args.name, args.version, get_settings(), by=acting_name())
    print(f"{args.name}: version {args.version} is signed by this studio and loads in predict, "
          "the dashboard and retraining")  # fmt: skip
    return 0


def _threshold(args: argparse.Namespace) -> int:
    from dlstudio.settings import get_settings
    from dlstudio.tracking.registry import describe_model
    from dlstudio.tracking.threshold import use_threshold

    version = args.version
    if version is None:
        champion = describe_model(args.name, _client()).champion
        if champion is None:
            raise DLStudioError(f"{args.name} has no champion.",
                                fix="give the version to start from with --version N")  # fmt: skip
        version = champion.version
    with audited_command("threshold", f"model {args.name} version {version}",
                         detail=f"threshold {args.threshold}") as done:  # fmt: skip
        change = use_threshold(args.name, version, args.threshold, reason=args.reason,
                               by=acting_name(), now=datetime.now(UTC), settings=get_settings())  # fmt: skip
        done.target = f"model {args.name} version {change.version}"
    print(f"{change.model}: version {change.version} (version {change.source_version} at "
          f"threshold {change.threshold:.2f}; it was {change.previous:.2f}) is the champion")  # fmt: skip
    return 0


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dlstudio.explain.onnx_export import export_registered

    with audited_command("export", f"model {args.name}", detail=f"ONNX to {args.out}"):
        result = export_registered(args.name, args.version, Path(args.out))
    version = result.model_uri.rsplit("/", 1)[-1]
    print(f"{args.name} version {version}: {result.kind} -> {result.onnx}")
    for path in result.beside:
        print(f"  beside it: {path}")
    print(f"  checked with onnxruntime on {result.rows_checked} inputs: max abs difference "
          f"{result.max_abs_difference:.1e} ({result.seconds:.1f} s)")  # fmt: skip
    return 0
