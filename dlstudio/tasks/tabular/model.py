"""What both tabular templates train and serve: the network (an MLP for ``fast``, TabM for
``balanced`` and ``best``), the classical models fitted beside it, and the weights that mix them.

The recipe follows the TabM and numeric-embedding papers (Gorishniy et al. 2022, 2025): numbers
mapped through their training quantiles, piecewise-linear embeddings, AdamW with weight decay,
early stopping on the validation rows with the best weights restored; plus a warm-up + cosine
schedule and a time budget so a preset's duration stays bounded on large tables.

Classical members are saved with ``skops`` (no pickle) and loaded against an allowlist of
scikit-learn types, after the model files' signature was checked (dlstudio.tracking.loading).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder
from torch import nn

from dlstudio.errors import DLStudioError
from dlstudio.nn.mlp import TabularMLP, TabularMLPConfig, embedding_dim
from dlstudio.nn.persist import load_network, save_network
from dlstudio.nn.tabm import TabMConfig, TabularTabM, quantile_bins
from dlstudio.tasks.tabular.features import TabularFeatures
from dlstudio.training.callbacks import EarlyStopping
from dlstudio.training.device import DeviceChoice
from dlstudio.training.loop import Callback, FitConfig, FitState, TensorData, fit

NETWORK_NAMES = {"mlp": "MLP network", "tabm": "TabM network"}


@dataclass(frozen=True)
class Preset:
    """What fast / balanced / best mean for the tabular templates."""

    network: str  # "mlp" or "tabm"
    epochs: int
    learning_rate: float
    patience: int
    seconds: float  # time budget of the network's training (early stopping usually ends first)
    ensemble: bool = False
    hidden_sizes: tuple[int, ...] = (256, 128)  # the MLP
    dropout: float = 0.1
    k: int = 16  # TabM: members
    d_block: int = 256  # TabM: width
    arch: str = "tabm-mini"  # the authors' TabM-mini: one member-specific scaling at the input
    weight_decay: float = 3e-4


PRESETS = {
    "fast": Preset("mlp", 20, 3e-3, 4, 10, hidden_sizes=(128, 64), weight_decay=1e-4),
    "balanced": Preset("tabm", 60, 2e-3, 10, 60),
    # best's network is balanced's (measured: k=32 with patience 16 scored the same on telco and
    # penguins and 0.09 lower macro-F1 on wine, bench/RESULTS.md), with more time for big
    # tables, and the ensemble
    "best": Preset("tabm", 60, 2e-3, 10, 100, ensemble=True),
}


def estimate_seconds(rows: int, preset: str, *, gpu: bool) -> float:
    """Start-up, classical models and logging (~20 s), plus the network's time budget or its
    maximum epochs at the loop's rows/s on 2 CPU cores (bench/RESULTS.md), whichever is less."""
    settings = PRESETS[preset]
    rows_per_second = (400_000 if gpu else 40_000) / (8 if settings.network == "tabm" else 1)
    epochs_seconds = settings.epochs * rows * 1.2 / rows_per_second
    return 20 + rows / 5_000 + min(epochs_seconds, settings.seconds * (3 if gpu else 1))


def train_network(
    spec: Any,
    features: TabularFeatures,
    train_set: TensorData,
    *,
    n_outputs: int,
    regression: bool,
    loss_fn: nn.Module,
    validate: Callable[[nn.Module], dict[str, float]],
    monitor: str,
    device: DeviceChoice,
    generator: Any,
    callbacks: Sequence[Callback],
) -> tuple[nn.Module, str, FitState]:
    """The preset's network trained on ``train_set`` (unscaled inputs; the target as the loss
    wants it), stopped early on ``monitor`` (lower is better) with its best weights restored;
    with its kind ("mlp" or "tabm") and the fit's state."""
    preset = PRESETS[spec.training.preset]
    kind = network_kind(spec.options, preset)
    network = build_network(
        kind, features, train_set.inputs[0].numpy(), n_outputs=n_outputs,
        regression=regression, options=spec.options, preset=preset,
    ).to(device.device)  # fmt: skip
    patience = spec.training.early_stopping_patience or preset.patience
    state = fit(
        network,
        train_set.to(device.device),
        loss_fn=loss_fn,
        validate=validate,
        config=fit_config(spec, preset, len(train_set), device),
        device=device,
        generator=generator,
        callbacks=[EarlyStopping(monitor, mode="min", patience=patience), *callbacks],
    )
    return network, kind, state


def network_kind(options: Any, preset: Preset) -> str:
    return preset.network if options.network == "auto" else options.network


def use_ensemble(options: Any, preset: Preset) -> bool:
    return preset.ensemble if options.ensemble is None else options.ensemble


def build_network(
    kind: str,
    features: TabularFeatures,
    train_numeric: np.ndarray,
    *,
    n_outputs: int,
    regression: bool,
    options: Any,
    preset: Preset,
) -> nn.Module:
    """The preset's network for these features; its shapes are saved as JSON with it."""
    cards = tuple(f.cardinality for f in features.categorical)
    dims = tuple(embedding_dim(n, cap=options.max_embedding_dim) for n in cards)
    dropout = preset.dropout if options.dropout is None else options.dropout
    if kind == "mlp":
        return TabularMLP(
            TabularMLPConfig(
                n_numeric=features.n_numeric_inputs,
                cardinalities=cards,
                embedding_dims=dims,
                hidden_sizes=tuple(options.hidden_sizes or preset.hidden_sizes),
                n_classes=n_outputs,
                dropout=dropout,
            )
        )
    config = TabMConfig(
        bins=quantile_bins(train_numeric),
        cardinalities=cards,
        embedding_dims=dims,
        n_outputs=n_outputs,
        regression=regression,
        k=preset.k,
        d_block=preset.d_block,
        arch=preset.arch,
        dropout=dropout,
    )
    return TabularTabM(config)


def network_description(network: nn.Module) -> dict:
    kind = "tabm" if isinstance(network, TabularTabM) else "mlp"
    return {"kind": kind, **network.config.to_dict()}


def network_from_description(raw: dict) -> nn.Module:
    raw = dict(raw)
    if raw.pop("kind", "mlp") == "tabm":
        return TabularTabM(TabMConfig.from_dict(raw))
    return TabularMLP(TabularMLPConfig.from_dict(raw))


def tensors(features: TabularFeatures, part: pd.DataFrame, y: np.ndarray) -> TensorData:
    numeric, categorical = features.transform(part)
    inputs = (torch.from_numpy(numeric), torch.from_numpy(categorical))
    return TensorData(inputs, torch.from_numpy(y))


def fit_config(spec: Any, preset: Preset, n_train: int, device: DeviceChoice) -> FitConfig:
    training = spec.training
    # ~50 steps per epoch on small tables, capped so big tables keep GPU-sized batches
    auto_batch = int(min(1024, max(32, 2 ** round(np.log2(max(n_train, 1) / 50)))))
    return FitConfig(
        epochs=training.epochs or preset.epochs,
        batch_size=training.batch_size or auto_batch,
        learning_rate=training.learning_rate or preset.learning_rate,
        weight_decay=preset.weight_decay,
        schedule="cosine",
        # a GPU gets three times as long: it does far more in it, and is rarely the bottleneck
        max_seconds=preset.seconds * (3 if device.device.type == "cuda" else 1),
    )


def classical_inputs(features: TabularFeatures, part: pd.DataFrame) -> np.ndarray:
    return stack_classical(*features.transform(part))


def stack_classical(numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """One float matrix for scikit-learn: the numbers, then the category codes."""
    return np.hstack([numeric, categorical.astype(np.float32)])


def categorical_mask(features: TabularFeatures) -> np.ndarray | None:
    """Which classical inputs HistGradientBoosting treats as categories (sklearn handles at
    most 255 levels; wider columns stay ordinal codes)."""
    is_categorical = [False] * features.n_numeric_inputs + [
        f.cardinality <= 255 for f in features.categorical
    ]
    return np.array(is_categorical, dtype=bool) if any(is_categorical) else None


def one_hot_then(features: TabularFeatures, model: Any) -> Pipeline:
    """A linear model's pipeline: categories one-hot, numbers as they come (already scaled)."""
    n_numeric = features.n_numeric_inputs
    n_columns = n_numeric + len(features.categorical)
    encode = ColumnTransformer(
        [("codes", OneHotEncoder(handle_unknown="ignore"), list(range(n_numeric, n_columns)))],
        remainder="passthrough",
    )
    return make_pipeline(encode, model)


class BlendedModel:
    """The network and the classical members mixed by weights (chosen on validation rows)."""

    def __init__(
        self,
        network: nn.Module,
        features: TabularFeatures,
        members: dict[str, Pipeline] | None = None,
        weights: dict[str, float] | None = None,
        background: pd.DataFrame | None = None,
    ) -> None:
        self.network, self.features = network.eval(), features
        self.members = members or {}
        self.weights = weights or {"network": 1.0}
        self.background = background  # typical training rows: reason codes need them
        self.device = DeviceChoice(torch.device("cpu"), None)

    def blend(
        self,
        frame: pd.DataFrame,
        network_output: Callable[[TensorData], np.ndarray],
        member_output: Callable[[Any, np.ndarray], np.ndarray],
    ) -> np.ndarray:
        """The weighted sum of the network's and each member's output for ``frame``."""
        numeric, categorical = self.features.transform(frame)
        total: Any = 0.0
        for key, weight in self.weights.items():
            if weight <= 0:
                continue
            if key == "network":
                inputs = (torch.from_numpy(numeric), torch.from_numpy(categorical))
                total = total + weight * network_output(TensorData(inputs, torch.zeros(len(frame))))
            else:
                classical = stack_classical(numeric, categorical)
                total = total + weight * member_output(self.members[key], classical)
        return total


# --- saving and loading -------------------------------------------------------------------


BACKGROUND_FILE = "background.json"  # typical training rows, for reason codes
BACKGROUND_ROWS = 100


def typical_rows(features: TabularFeatures, train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A seeded sample of the training rows' input columns: what reason codes compare a row
    with ("a value raises the prediction above what typical values give")."""
    rows = train[features.input_columns]
    return rows.sample(min(len(rows), BACKGROUND_ROWS), random_state=seed)


def save_tabular(
    folder: Path,
    network: nn.Module,
    features: TabularFeatures,
    members: dict[str, Pipeline],
    description: dict,
    background: pd.DataFrame | None = None,
) -> None:
    """``model.json`` (features, the network's shapes, ``description``), ``weights.pt``, one
    ``member-<key>.skops`` per classical model the prediction uses and ``background.json``
    (typical training rows, as JSON: no pickle)."""
    save_network(
        folder,
        network,
        {
            **description,
            "network": network_description(network),
            "features": features.to_json(),
            "members": sorted(members),
        },
    )
    if members:
        import skops.io

        for key, pipeline in members.items():
            skops.io.dump(pipeline, folder / f"member-{key}.skops")
    if background is not None:
        text = background.to_json(orient="split", index=False, date_format="iso")
        (folder / BACKGROUND_FILE).write_text(text, encoding="utf-8")


def load_tabular(folder: Path) -> tuple[nn.Module, TabularFeatures, dict[str, Any], dict]:
    """The network (in eval mode), the features, the classical members and the description
    (with ``background``: the typical rows, None for a model saved before they were)."""
    network, raw = load_network(folder, network_from_description)
    members = {key: _load_member(folder / f"member-{key}.skops") for key in raw.get("members", [])}
    raw["background"] = _read_background(folder / BACKGROUND_FILE)
    return network.eval(), TabularFeatures.from_json(raw["features"]), members, raw


def _read_background(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    text = io.StringIO(path.read_text(encoding="utf-8"))
    return pd.read_json(text, orient="split", dtype=False, convert_dates=False)


def _load_member(path: Path) -> Any:
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    # HistGradientBoosting keeps sklearn's own functions, one of them wrapped in a partial;
    # any function from elsewhere would be listed here too, and refused
    unexpected = [
        t for t in untrusted
        if not t.startswith(("sklearn.", "numpy.", "scipy.")) and t != "functools.partial"
    ]  # fmt: skip
    if unexpected:
        raise DLStudioError(
            f"the model file {path.name} holds types that are not scikit-learn's: "
            f"{', '.join(unexpected[:5])}",
            fix="retrain the model with this version of dlstudio",
        )
    return skops.io.load(path, trusted=untrusted)
