"""The options of the text template, and its RunSpec model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dlstudio.spec import FrozenModel, RunSpecBase

NAMED_BACKBONES = ("auto", "minilm", "none")  # any other value names a Hugging Face model


class TextSentimentOptions(FrozenModel):
    """Options of the text template (sentiment, or any labelling of short texts)."""

    text_column: str | None = Field(
        default=None, description="Column with the texts; the longest free-text column when empty."
    )
    model: Literal["auto", "ngram_bag", "bigru", "transformer"] = Field(
        default="auto",
        description="ngram_bag: word and character n-grams (fastText style, very fast); bigru: a "
        "bidirectional GRU with attention; transformer: a small Transformer encoder; auto: the "
        "preset picks.",
    )  # the networks trained from scratch (backbone none); auto with a backbone: its head
    backbone: str = Field(
        default="auto",
        min_length=1,
        description="The pretrained network the model starts from. auto: the preset picks (fast "
        "trains from scratch, balanced and best start from minilm); minilm: all-MiniLM-L6-v2, "
        "installed with dlstudio (English; works offline; reads up to twice max_length word "
        "pieces, at most 512); none: learn from your texts only (options.model); or a Hugging "
        "Face model id (e.g. distilbert-base-uncased) in this machine's Hugging Face cache, or "
        "the folder of such a model: it is fine-tuned whole (slow without a GPU).",
    )
    tuned_layers: int | None = Field(
        default=None,
        ge=0,
        le=6,
        description="MiniLM's top layers fine-tuned on your texts: 0 keeps MiniLM frozen and "
        "trains a linear layer on its sentence embeddings; 1 or more also tune that many top "
        "layers (more accurate, slower); preset.",
    )
    vocab_size: int = Field(
        default=20_000, ge=100, le=500_000, description="Most frequent words kept; others unknown."
    )
    max_length: int = Field(
        default=128, ge=8, le=2048, description="Words read per text; longer texts are cut."
    )
    embedding_dim: int | None = Field(
        default=None, ge=8, le=1024, description="Size of the word vectors; preset."
    )
    hidden_size: int | None = Field(
        default=None,
        ge=8,
        le=2048,
        description="Units of the recurrent/Transformer layers; preset.",
    )
    dropout: float | None = Field(default=None, ge=0, lt=1, description="Dropout rate; preset.")
    class_weight: Literal["auto", "balanced", "none"] = Field(
        default="auto",
        description="auto: weights 1/sqrt(class share); balanced: 1/share; none: equal.",
    )
    test_fraction: float = Field(
        default=0.2, gt=0, lt=0.5, description="Share held out for the test (when no test file)."
    )
    val_fraction: float = Field(
        default=0.15, gt=0, lt=0.5, description="Share of the training rows for early stopping."
    )

    @model_validator(mode="after")
    def _model_fits_backbone(self) -> TextSentimentOptions:
        if self.model != "auto" and self.backbone not in ("auto", "none"):
            raise ValueError(
                f"model {self.model!r} is trained from scratch, but backbone is "
                f"{self.backbone!r}: set backbone to 'none' (or 'auto') to train {self.model!r}, "
                "or model to 'auto' to start from the backbone"
            )
        if self.tuned_layers and self.backbone not in ("auto", "minilm"):
            raise ValueError(
                f"tuned_layers applies to backbone 'minilm', not {self.backbone!r}: leave it "
                "empty, or set backbone to 'minilm'"
            )
        return self


class TextSentimentSpec(RunSpecBase):
    """Label short texts (reviews, tickets, survey answers) by sentiment or any set of classes."""

    task: Literal["text_sentiment"] = Field(
        default="text_sentiment", description="The task template to run."
    )
    options: TextSentimentOptions = Field(
        default_factory=TextSentimentOptions, description="The template's own options."
    )


SPEC = TextSentimentSpec  # registered in dlstudio/tasks/registry.py
