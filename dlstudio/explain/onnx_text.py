"""ONNX plans of the text template, one per family: the network in the graph, from token ids
to class probabilities; the tokenizer ships beside it.

* scratch (ngram_bag, bigru, transformer): ``ids`` from dlstudio's own tokenizer, whose
  vocabulary ships as ``preprocessing.json``. The graph versions of the networks skip their
  trimming of padding columns (a shape read from the data, which a traced graph would freeze);
  the result is the same, as padding is masked.
* minilm and hub: ``input_ids`` and ``attention_mask`` from the Hugging Face tokenizer, whose
  files ship beside (``tokenizer/``); MiniLM itself, its pooling and the head are in the graph.

Tokenizing stays outside: ONNX has no operators for Unicode normalization, regular expressions,
hashing or WordPiece.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlstudio.explain.onnx_plan import (
    ExportPlan,
    classification_outputs_text,
    decided_class,
    json_bytes,
    probability_columns,
)
from dlstudio.nn.text import PAD, BiGRUAttention, NgramBag, SmallTransformer, _masked_softmax
from dlstudio.tasks.text.encoding import CHARS_PER_TOKEN
from dlstudio.tasks.text.hub import HubInputs
from dlstudio.tasks.text.inputs import ScratchInputs, SentenceInputs
from dlstudio.tasks.text.predictor import TextPredictor

SAMPLE_TEXTS = (
    "I loved it, great service and friendly staff!", "Terrible. Never again?", "", "ok",
    "The delivery was late but the product works fine", "not good, not bad", "!!! ??? 👍",
)  # fmt: skip
ID_AXES = {"input_ids": {0: "rows", 1: "tokens"}, "attention_mask": {0: "rows", 1: "tokens"}}


class BagGraph(nn.Module):
    """NgramBag as a graph: the mean of the ids' embeddings, PAD excluded, then the head."""

    def __init__(self, model: NgramBag) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != PAD).unsqueeze(-1).float()
        vectors = F.embedding(ids, self.model.embedding.weight) * mask
        return self.model.head(vectors.sum(dim=1) / mask.sum(dim=1).clamp(min=1))


class TransformerGraph(nn.Module):
    """SmallTransformer as a graph: its forward without trimming the padding columns."""

    def __init__(self, model: SmallTransformer) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        m, mask = self.model, ids != PAD
        attend = mask | ~mask.any(dim=1, keepdim=True)  # an empty text sees its padding
        x = m.embedding(ids) + m.position(torch.arange(ids.shape[1], device=ids.device))
        x = m.encoder(x, src_key_padding_mask=~attend)
        weights = mask.unsqueeze(-1).to(x.dtype)
        return m.head((x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1))


class GRUGraph(nn.Module):
    """BiGRUAttention as a graph: its forward without trimming (packing stays: ONNX's GRU
    takes each text's length, so the backward direction starts at its last token)."""

    def __init__(self, model: BiGRUAttention) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        m, mask = self.model, ids != PAD
        lengths = mask.sum(dim=1).clamp(min=1)
        packed = pack_padded_sequence(m.embedding(ids), lengths, batch_first=True,
                                      enforce_sorted=False)  # fmt: skip
        states, _ = pad_packed_sequence(m.gru(packed)[0], batch_first=True,
                                        total_length=ids.shape[1])  # fmt: skip
        weights = _masked_softmax(m.attention(states).squeeze(-1), mask)
        return m.head((weights.unsqueeze(-1) * states).sum(dim=1))


class EncoderGraph(nn.Module):
    """MiniLM (or a fine-tuned hub model) and its head: (input_ids, attention_mask) -> logits."""

    def __init__(self, bert: nn.Module, head: nn.Module, inputs: object) -> None:
        super().__init__()
        self.bert, self.head, self.inputs = bert, head, inputs

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if isinstance(self.inputs, HubInputs):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).logits
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                        output_hidden_states=True)  # fmt: skip
        if isinstance(self.inputs, SentenceInputs):  # mean over tokens, L2-normalised
            weights = attention_mask.unsqueeze(-1).float()
            states = out.hidden_states[-1]
            mean = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
            return self.head(F.normalize(mean, dim=1))
        states = out.hidden_states[self.inputs.layer]
        # the tuned layers were trained (and predict) on these states stored in fp16
        mask = attention_mask.bool()
        return self.head(states.half().float() * mask.unsqueeze(-1), mask)


class Probabilities(nn.Module):
    """Any logits network -> (probabilities, predicted_class)."""

    def __init__(self, logits: nn.Module) -> None:
        super().__init__()
        self.logits = logits.eval()

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        proba = torch.softmax(self.logits(*inputs).float(), dim=1)
        return proba, decided_class(proba, None, 0.5)


SCRATCH_GRAPHS: dict[type, type[nn.Module]] = {
    NgramBag: BagGraph, SmallTransformer: TransformerGraph, BiGRUAttention: GRUGraph,
}  # fmt: skip


def text_plan(predictor: TextPredictor) -> ExportPlan:
    """The family's graph, checked on a few sample texts (and, for a scratch model, texts made
    of its own vocabulary)."""
    texts = sample_texts(predictor)
    classes = list(predictor.classes)
    frame = pd.DataFrame({predictor.column: texts})
    expected = probability_columns(predictor.predict(frame), classes)
    clipped = [text[: CHARS_PER_TOKEN * predictor.max_length] for text in texts]
    if isinstance(predictor.inputs, ScratchInputs):
        plan = _scratch_plan(predictor, clipped)
    else:
        plan = _encoder_plan(predictor, clipped)
    plan.expected = expected
    plan.metadata |= {"classes": classes, "text_column": predictor.column,
                      "max_length": predictor.max_length}  # fmt: skip
    plan.howto = plan.howto.replace("OUTPUTS", classification_outputs_text(classes, None, 0.5))
    return plan


def sample_texts(predictor: TextPredictor) -> list[str]:
    texts = list(SAMPLE_TEXTS)
    if isinstance(predictor.inputs, ScratchInputs):
        words = list(predictor.inputs.encoder.vocabulary)[:40]
        texts += [" ".join(words[i : i + 9]) for i in range(0, len(words), 8)]
    return texts


def _scratch_plan(predictor: TextPredictor, texts: list[str]) -> ExportPlan:
    model, inputs = predictor.model, predictor.inputs
    graph_type = SCRATCH_GRAPHS[type(model)]
    ids, _ = inputs.ids(texts)
    bag = inputs.kind == "ngram_bag"
    kind = f"{inputs.kind} network (text classification, trained from scratch)"
    preprocessing = {"family": "scratch", "kind": inputs.kind, "text_column": predictor.column,
                     "classes": list(predictor.classes), "encoder": inputs.encoder.to_json()}  # fmt: skip
    return ExportPlan(
        kind=kind,
        graph=Probabilities(graph_type(model)),
        inputs={"ids": ids},
        # the sequence networks read exactly max_length ids (encode_tokens pads to it): their
        # attention's reshapes keep the traced length
        dynamic_axes={"ids": {0: "rows", 1: "ids"} if bag else {0: "rows"}},
        outputs=["probabilities", "predicted_class"],
        compared="probabilities",
        expected=np.zeros(0),
        metadata={"family": "scratch", "kind": inputs.kind},
        beside={"preprocessing.json": json_bytes(preprocessing)},
        howto=_scratch_howto(kind, bag),
    )


def _encoder_plan(predictor: TextPredictor, texts: list[str]) -> ExportPlan:
    inputs = predictor.inputs
    if isinstance(inputs, HubInputs):
        bert, head, family = predictor.model.network, nn.Identity(), "hub"
    else:
        bert, head, family = inputs.encoder.model, predictor.model, "minilm"
    encoded = inputs.encoder.tokenizer if not isinstance(inputs, HubInputs) else inputs.tokenizer
    tokens = encoded(texts, truncation=True, max_length=inputs.max_tokens, padding=True,
                     return_tensors="np")  # fmt: skip
    kind = f"{'MiniLM' if family == 'minilm' else 'Hugging Face'} text model ({family})"
    preprocessing = {"family": family, "text_column": predictor.column,
                     "max_tokens": inputs.max_tokens, "max_length": predictor.max_length,
                     "classes": list(predictor.classes)}  # fmt: skip
    return ExportPlan(
        kind=kind,
        graph=Probabilities(EncoderGraph(bert, head, inputs)),
        inputs={name: tokens[name].astype(np.int64) for name in ID_AXES},
        dynamic_axes=ID_AXES,
        outputs=["probabilities", "predicted_class"],
        compared="probabilities",
        expected=np.zeros(0),
        metadata={"family": family, "max_tokens": inputs.max_tokens},
        beside={
            "preprocessing.json": json_bytes(preprocessing),
            **tokenizer_files(encoded),
        },
        howto=_encoder_howto(kind, inputs.max_tokens),
    )


def tokenizer_files(tokenizer: object) -> dict[str, bytes]:
    """The tokenizer's own files (``save_pretrained``), under ``tokenizer/``."""
    with tempfile.TemporaryDirectory(prefix="dlstudio-tokenizer-") as scratch:
        tokenizer.save_pretrained(scratch)
        return {f"tokenizer/{p.name}": p.read_bytes() for p in sorted(Path(scratch).iterdir())
                if p.is_file()}  # fmt: skip


def _scratch_howto(kind: str, bag: bool) -> str:
    encode = ("ids = encoder.encode_bag(texts, max_features=4 * encoder.max_length)" if bag
              else "ids, _ = encoder.encode_tokens(texts)  # padded to max_length")  # fmt: skip
    width = "rows x ids, any width" if bag else "rows x max_length"
    return f"""# {kind}, exported to ONNX

`$model` is the network; `$preprocessing` holds its tokenizer's vocabulary and settings.
Input: `ids` (int64, {width}; 0 is padding).
OUTPUTS

## Run it (Python; `pip install dlstudio onnxruntime`)

The tokenizer is dlstudio's own (Unicode normalization, lower case, words, emoji, and for
the n-gram bag hashed word pairs and character n-grams): use its code, so that the ids are
exactly those the network learnt.

```python
import json
import onnxruntime as ort
from dlstudio.tasks.text.encoding import TextEncoder

with open("$preprocessing", encoding="utf-8") as file:
    encoder = TextEncoder.from_json(json.load(file)["encoder"])
texts = ["Great product, fast delivery!", "It broke after two days."]
{encode}
session = ort.InferenceSession("$model")
probabilities, predicted_class = session.run(None, {{"ids": ids}})
```
"""


def _encoder_howto(kind: str, max_tokens: int) -> str:
    return f"""# {kind}, exported to ONNX

`$model` holds the encoder and the classifier; `$tokenizer/` holds the tokenizer's files.
Inputs: `input_ids` and `attention_mask` (int64, rows x tokens, at most {max_tokens} tokens).
OUTPUTS

## Run it (Python; `pip install onnxruntime transformers`)

```python
import onnxruntime as ort
from transformers import AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("$tokenizer")
texts = ["Great product, fast delivery!", "It broke after two days."]
tokens = tokenizer(texts, truncation=True, max_length={max_tokens}, padding=True,
                   return_tensors="np")
session = ort.InferenceSession("$model")
feeds = {{name: tokens[name].astype("int64") for name in ("input_ids", "attention_mask")}}
probabilities, predicted_class = session.run(None, feeds)
```

(`tokenizers.Tokenizer.from_file("$tokenizer/tokenizer.json")` does the same without
transformers: enable truncation at {max_tokens} and padding.)
"""
