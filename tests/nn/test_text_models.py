"""The three text networks: shapes, padding, empty texts, and that each can learn."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlstudio.nn.text import TextModelConfig, build_text_model
from dlstudio.tasks.text.encoding import TextEncoder

KINDS = ("ngram_bag", "bigru", "transformer")
POSITIVE = ["great phone", "love it", "works great", "very good", "excellent value",
            "good battery", "love the screen", "great sound", "really good", "happy with it"]  # fmt: skip
NEGATIVE = ["bad phone", "hate it", "broke fast", "very poor", "waste of money",
            "poor battery", "hate the screen", "awful sound", "really bad", "unhappy with it"]  # fmt: skip


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


def config(kind: str, **options) -> TextModelConfig:
    return TextModelConfig(kind=kind, **({"n_ids": 50, "n_classes": 3, "max_length": 8} | options))


def model(kind: str, **options) -> nn.Module:
    return build_text_model(config(kind, **options)).eval()


@pytest.mark.parametrize("kind", KINDS)
def test_each_model_returns_logits_per_text(kind: str):
    ids = torch.tensor([[5, 6, 7, 0, 0, 0], [9, 0, 0, 0, 0, 0]])

    logits = model(kind)(ids)

    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("kind", KINDS)
def test_an_all_pad_row_gives_finite_logits_and_finite_gradients(kind: str):
    network = build_text_model(config(kind)).train()
    ids = torch.tensor([[5, 6, 0, 0], [0, 0, 0, 0]])

    logits = network(ids)
    logits.sum().backward()

    assert torch.isfinite(logits).all()
    assert all(torch.isfinite(p.grad).all() for p in network.parameters() if p.grad is not None)


@pytest.mark.parametrize("kind", KINDS)
def test_padding_width_does_not_change_the_logits(kind: str):
    network = model(kind)
    narrow = torch.tensor([[5, 6, 7], [8, 0, 0]])
    wide = torch.nn.functional.pad(narrow, (0, 5))  # same texts, 5 more PAD columns

    with torch.no_grad():
        assert torch.allclose(network(narrow), network(wide), atol=1e-5)


def test_embedding_bag_mean_leaves_padding_out():
    network = model("ngram_bag")
    table = network.embedding.weight

    pooled = network.embedding(torch.tensor([[3, 4, 0, 0, 0]]))

    assert torch.allclose(pooled[0], (table[3] + table[4]) / 2)  # divided by 2, not by 5


def test_the_transformer_refuses_more_ids_than_its_positions():
    with pytest.raises(ValueError, match="max_length 8"):
        model("transformer")(torch.ones(1, 9, dtype=torch.long))


def test_config_round_trips_and_names_a_bad_kind():
    original = config("bigru", layers=2)

    assert TextModelConfig.from_dict(original.to_dict()) == original
    with pytest.raises(ValueError, match=r"'cnn'.*bigru"):
        config("cnn")
    with pytest.raises(ValueError, match="multiple of heads"):
        config("transformer", embedding_dim=30, heads=4)


@pytest.mark.parametrize("kind", KINDS)
def test_each_model_overfits_twenty_tiny_sentences(kind: str):
    texts, labels = POSITIVE + NEGATIVE, torch.tensor([1] * 10 + [0] * 10)
    encoder = TextEncoder.fit(texts, vocab_size=100, max_length=8, buckets=1024, min_count=1)
    if kind == "ngram_bag":
        ids, n_ids = torch.from_numpy(encoder.encode_bag(texts)), encoder.n_ids
    else:
        ids, n_ids = torch.from_numpy(encoder.encode_tokens(texts)[0]), encoder.n_token_ids
    network = build_text_model(config(kind, n_ids=n_ids, n_classes=2, dropout=0.0))
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)

    losses = []
    for _ in range(50):
        loss = nn.functional.cross_entropy(network(ids), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    assert losses[-1] < 0.1 * losses[0]
    assert (network.eval()(ids).argmax(dim=1) == labels).all()
