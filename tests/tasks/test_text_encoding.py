"""The text encoder: Unicode tokens, a deterministic vocabulary, padded ids and stable hashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dlstudio.tasks.text import encoding as text_encoding
from dlstudio.tasks.text.encoding import (
    CHARS_PER_TOKEN,
    PAD,
    UNK,
    TextEncoder,
    clip_text,
    tokenize,
)

REVIEWS = [
    "Great phone, great battery!",
    "Terrible battery. I don't like it?",
    "great value 👍",
    "Très bon 👍!",
    "不好",
    "the battery died, terrible",
]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Très bon 👍!", ["très", "bon", "👍", "!"]),
        ("不好", ["不好"]),
        ("don't", ["don't"]),
        ("I DON’T like it... at ALL?!", ["i", "don't", "like", "it", "at", "all", "?", "!"]),
        ("ｇｏｏｄ_job, 10/10", ["good", "job", "10", "10"]),  # NFKC folds full-width letters
        ("nice 👍🏻❤️", ["nice", "👍", "❤"]),  # skin tone and variation selector dropped
        ("हिन्दी ไม่ดี", ["हिन्दी", "ไม่ดี"]),  # combining marks stay inside the word
        ("'quoted' (text) #tag @me...", ["quoted", "text", "tag", "me"]),
    ],
)
def test_tokenize_keeps_words_emoji_and_sentiment_punctuation(text: str, tokens: list[str]):
    assert tokenize(text) == tokens


def test_fit_keeps_the_most_frequent_words_with_ties_broken_by_the_word():
    # given "battery", "great" (case folded) x3; "!", "terrible", "👍" x2; the rest once
    encoder = TextEncoder.fit(REVIEWS, vocab_size=6, max_length=8, min_count=2)

    assert encoder.vocabulary == {"battery": 2, "great": 3, "!": 4, "terrible": 5}  # not 👍
    assert encoder.n_token_ids == 6
    assert encoder.n_ids == 6 + encoder.buckets


def test_fit_is_deterministic_whatever_the_order_of_the_texts():
    first = TextEncoder.fit(REVIEWS, vocab_size=50, max_length=8, min_count=1)
    second = TextEncoder.fit(REVIEWS[::-1], vocab_size=50, max_length=8, min_count=1)

    assert first.vocabulary == second.vocabulary
    assert list(first.vocabulary.values()) == list(range(2, 2 + len(first.vocabulary)))


def test_encode_tokens_pads_maps_unknown_words_and_counts_truncations():
    encoder = TextEncoder(vocabulary={"good": 2, "phone": 3}, max_length=3, buckets=16)

    ids, truncated = encoder.encode_tokens(["good phone", "good bad phone!", ""])

    assert ids.dtype == np.int64
    assert ids.tolist() == [[2, 3, PAD], [2, UNK, 3], [PAD, PAD, PAD]]
    assert truncated == 1  # only the 4-token text lost a token


def test_encode_bag_holds_word_ids_then_hashed_ids_in_the_bucket_range():
    encoder = TextEncoder(vocabulary={"good": 2, "phone": 3}, max_length=8, buckets=100)

    bag = encoder.encode_bag(["good phone", "good"])

    # "good phone": 2 words, 1 bigram, char 3..5-grams of "<good>" (4+3+2) and "<phone>" (5+4+3)
    assert bag.shape == (2, 2 + 1 + 9 + 12)
    assert bag[0, :2].tolist() == [2, 3]
    hashed = bag[0, 2:]
    assert ((hashed >= 4) & (hashed < 4 + 100)).all()
    assert bag[1, :1].tolist() == [2]
    assert (bag[1, 1 + 9 :] == PAD).all()  # the shorter text is right-padded


def test_encode_bag_caps_the_width_at_max_features():
    encoder = TextEncoder(vocabulary={"good": 2}, max_length=8, buckets=100)

    bag = encoder.encode_bag(["good good good"], max_features=4)

    assert bag.tolist() == [[2, 2, 2, bag[0, 3]]]  # words first, the n-grams are cut
    assert bag[0, 3] >= 3


def test_encode_bag_of_no_text_and_of_an_empty_text():
    encoder = TextEncoder(vocabulary={}, max_length=4, buckets=10)

    assert encoder.encode_bag([]).shape == (0, 1)
    assert encoder.encode_bag(["", "..."]).tolist() == [[PAD], [PAD]]  # one column, for the model


def test_bag_ids_are_the_same_in_another_process_with_another_hash_seed():
    texts = ["Très bon 👍!", "不好", "don't do it"]
    encoder = TextEncoder.fit(texts, vocab_size=10, max_length=8, buckets=1000, min_count=1)
    script = (
        "import json, sys\n"
        "from dlstudio.tasks.text.encoding import TextEncoder\n"
        "raw = json.loads(sys.stdin.read())\n"
        "print(json.dumps(TextEncoder.from_json(raw['encoder']).encode_bag(raw['texts']).tolist()))"
    )
    payload = json.dumps({"encoder": encoder.to_json(), "texts": texts})

    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], input=payload, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == encoder.encode_bag(texts).tolist()


def test_json_round_trip_gives_an_equal_encoder():
    encoder = TextEncoder.fit(REVIEWS, vocab_size=50, max_length=8, buckets=64, min_count=1)

    raw = json.loads(json.dumps(encoder.to_json()))
    restored = TextEncoder.from_json(raw)

    assert restored == encoder
    assert (restored.encode_bag(REVIEWS) == encoder.encode_bag(REVIEWS)).all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_length": 0}, "max_length"),
        ({"buckets": 0}, "buckets"),
        ({"char_ngrams": (5, 3)}, "char_ngrams"),
        ({"vocabulary": {"a": 3}}, "without gaps"),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(options: dict, message: str):
    settings = {"vocabulary": {}, "max_length": 4, "buckets": 10} | options

    with pytest.raises(ValueError, match=message):
        TextEncoder(**settings)


def test_a_huge_cell_is_cut_before_it_is_tokenised(monkeypatch: pytest.MonkeyPatch):
    # given a 14 MB cell (2 million words) and an encoder that reads its first 8 tokens
    huge = "great battery " * 1_000_000
    seen: list[int] = []
    real_tokenize = text_encoding.tokenize
    monkeypatch.setattr(
        text_encoding, "tokenize", lambda text: seen.append(len(text)) or real_tokenize(text)
    )

    # when it is fitted on, encoded as tokens and as a bag
    encoder = TextEncoder.fit([huge, "great"], vocab_size=10, max_length=8, min_count=1)
    ids, truncated = encoder.encode_tokens([huge])
    bag = encoder.encode_bag([huge])

    # then the tokenizer only ever saw the start of it, and the ids are those of that start
    assert max(seen) == CHARS_PER_TOKEN * 8 < len(huge) / 1000
    great, battery = encoder.vocabulary["great"], encoder.vocabulary["battery"]
    assert ids.tolist() == [[great, battery] * 4]
    assert truncated == 1
    assert bag[0, :8].tolist() == [great, battery] * 4


def test_clip_text_cuts_only_what_the_encoder_never_reads():
    short, long = "good phone", "good phone " * 100

    assert clip_text(short, 8) == short
    assert clip_text(long, 8) == long[: CHARS_PER_TOKEN * 8]
    assert len(tokenize(clip_text(long, 8))) > 8  # the cut part still holds max_length tokens
