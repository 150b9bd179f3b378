"""A Hugging Face model as the backbone: a tiny BERT built here (no network), fine-tuned whole,
saved, and predicting from the model's folder alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.text.predictor import TextPredictor
from dlstudio.training.device import choose_device
from dlstudio.training.runner import check_run

GOOD = ["great", "good", "love", "happy", "fine"]
BAD = ["bad", "poor", "hate", "awful", "broken"]
THINGS = ["phone", "screen", "battery", "it", "the"]
WORDS = [*GOOD, *BAD, *THINGS]


def comments(n: int = 60) -> pd.DataFrame:
    texts = [f"{(GOOD if i % 2 else BAD)[i % 5]} {THINGS[i % 5]}" for i in range(n)]
    return pd.DataFrame({"comment": texts, "label": ["yes" if i % 2 else "no" for i in range(n)]})


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 1-layer BERT of width 16, with a word-level vocabulary."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)
    config = BertConfig(vocab_size=20, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)  # fmt: skip
    BertModel(config).save_pretrained(folder)
    (folder / "README.md").write_text("---\nlicense: mit\ndatasets:\n- toy\n---\n# tiny\n")
    return folder


@pytest.fixture(scope="module")
def hub_model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    spec = parse_spec({"task": "text_sentiment", "data": {"path": "c.csv", "target": "label"},
                       "training": {"epochs": 1, "seed": 0},
                       "options": {"backbone": str(tiny_bert)}})  # fmt: skip
    work_dir = tmp_path_factory.mktemp("hub") / "model"
    outcome = get_template("text_sentiment").train(
        TrainingData(comments()), spec, device=choose_device("cpu"), callbacks=[],
        work_dir=work_dir,
    )  # fmt: skip
    return outcome, work_dir


def test_the_hub_model_is_fine_tuned_and_named_with_its_licence(hub_model, tiny_bert) -> None:
    outcome, work_dir = hub_model
    assert outcome.backbone.name == str(tiny_bert)
    assert (outcome.backbone.licence, outcome.backbone.pretrained_on) == ("mit", "toy")
    assert outcome.notes[0].startswith(f"Model: {tiny_bert}, fine-tuned whole (")
    assert json.loads((work_dir / "model.json").read_text())["family"] == "hub"
    assert len(outcome.history) == 1


def test_the_saved_hub_model_predicts_without_its_source_folder(hub_model, tiny_bert, tmp_path):
    outcome, work_dir = hub_model
    moved = tmp_path / "elsewhere"
    shutil.move(tiny_bert, moved)  # the backbone's own folder is gone
    try:
        out = TextPredictor.load(work_dir).predict(outcome.holdout[["comment"]])
    finally:
        shutil.move(moved, tiny_bert)

    trained = outcome.json_artifacts["sample_predictions.json"]
    assert out["prediction"].tolist()[: len(trained)] == [row["prediction"] for row in trained]
    top = out.filter(like="probability_").max(axis=1).tolist()
    assert top[: len(trained)] == pytest.approx([row["probability"] for row in trained], abs=2e-4)
    assert list(out.columns) == ["prediction", "probability_no", "probability_yes"]


def test_check_accepts_a_complete_model_folder(tiny_bert: Path, tmp_path: Path) -> None:
    path = tmp_path / "comments.csv"
    comments().to_csv(path, index=False)
    spec = parse_spec({"task": "text_sentiment", "data": {"path": str(path), "target": "label"},
                       "options": {"backbone": str(tiny_bert)}})  # fmt: skip
    assert [f for f in check_run(spec, get_settings())[1] if f.level == "error"] == []
