"""Text to integer ids: a Unicode-aware tokenizer, a word vocabulary, and fastText-style hashing.

Two encodings of the same tokens:

* ``encode_tokens``: the word ids in order, for the sequence models (GRU, transformer).
* ``encode_bag``: the word ids plus hashed ids of word bigrams and of character n-grams, for the
  bag model (Joulin et al. 2016, "Bag of Tricks"; Bojanowski et al. 2017 for the n-grams). The
  n-grams give unseen words, typos and scripts without spaces (Chinese, Japanese) useful ids.

Hashes use ``zlib.crc32``: Python's ``hash()`` of a string changes with every process, which would
scramble a saved model's inputs.
"""

from __future__ import annotations

import itertools
import re
import sys
import unicodedata
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

import numpy as np

PAD, UNK = 0, 1  # ids reserved in every vocabulary
SENTIMENT_PUNCTUATION = frozenset("!?")  # the only punctuation kept: it carries sentiment
_SKIN_TONES = range(0x1F3FB, 0x1F400)  # dropped, so that 👍🏻 reads as 👍
_EMOJI_RANGES = (range(0x2600, 0x27C0), range(0x1F000, 0x1FB00), (0x203C, 0x2049))  # ‼ ⁉
_ASCII_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[!?^`]")  # ^ and ` are the ASCII symbols
_BIGRAM_MULTIPLIER = 116_049_371  # fastText's: a bigram's hash from its two words' hashes
_CACHED_WORDS = 2**17
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "_": " "})  # "_" is \w; not ours
# Characters read per token kept: a text is cut to CHARS_PER_TOKEN * max_length characters before
# it is tokenised, as only its first max_length tokens are used (a 50 MB cell took 12 s and
# 2.9 GiB to tokenise whole). Words average ~6 characters with their space; 32 leaves room for
# long words, URLs and dropped punctuation, so a cut text still holds max_length tokens.
CHARS_PER_TOKEN = 32


def clip_text(text: str, max_length: int) -> str:
    """The start of ``text`` that holds its first ``max_length`` tokens: the part that is read."""
    return text[: CHARS_PER_TOKEN * max_length]


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lower-case words, emoji/symbols and "!"/"?", in any script.

    NFKC folds full-width and compatibility forms ("ｇｏｏｄ" -> "good"), ``casefold`` is the
    Unicode lower case. Words are runs of letters, digits and combining marks (Hindi, Thai and
    Arabic need the marks) with inner apostrophes kept ("don't"); every emoji or symbol is its
    own token; other punctuation is dropped.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():  # most texts: a simpler pattern, 2x faster, needs no filtering
        return _ASCII_TOKEN.findall(text)
    return [
        token
        for token in _token_pattern().findall(text.translate(_APOSTROPHES))
        if len(token) > 1 or token.isalnum() or _is_kept_symbol(token)
    ]


@cache
def _token_pattern() -> re.Pattern[str]:
    """A word (letters, digits, marks; inner apostrophes) or any single other visible character."""
    word = rf"[\w{_combining_marks()}]+"
    return re.compile(rf"{word}(?:'{word})*|[^\w\s]")


def _combining_marks() -> str:
    """Character-class ranges of the Unicode marks, which ``\\w`` does not match (~40 ms, once)."""
    marks = [c for c in range(0x300, 0x20000) if unicodedata.category(chr(c))[0] == "M"]
    marks += range(0xE0100, 0xE01F0)  # variation selectors supplement
    ranges, start = [], marks[0]
    for previous, current in zip(marks, [*marks[1:], sys.maxunicode + 2], strict=True):
        if current != previous + 1:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
            start = current
    return "".join(ranges)


@cache
def _is_kept_symbol(char: str) -> bool:
    """True for "!", "?", emoji and symbols (categories So, Sk); False for other punctuation."""
    code = ord(char)
    if char in SENTIMENT_PUNCTUATION:
        return True
    if code in _SKIN_TONES or unicodedata.category(char)[0] == "M":
        return False
    in_emoji_range = any(code in r for r in _EMOJI_RANGES)
    return in_emoji_range or unicodedata.category(char) in ("So", "Sk")


@dataclass(frozen=True)
class TextEncoder:
    """A fitted vocabulary and the hashing settings; saved as JSON beside the model."""

    vocabulary: dict[str, int]  # word -> id, ids 2.. (0 PAD, 1 UNK)
    max_length: int  # tokens kept per text (longer texts are truncated)
    buckets: int  # hashed slots for word bigrams and character n-grams (bag input only)
    char_ngrams: tuple[int, int] = (3, 5)
    _features_cache: dict[str, _WordFeatures] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {self.max_length!r}")
        if self.buckets < 1:
            raise ValueError(f"buckets must be at least 1, got {self.buckets!r}")
        low, high = self.char_ngrams
        if not 1 <= low <= high:
            raise ValueError(
                f"char_ngrams must be (low, high), 1 <= low <= high: {self.char_ngrams!r}"
            )
        if sorted(self.vocabulary.values()) != list(range(2, 2 + len(self.vocabulary))):
            raise ValueError("vocabulary ids must be 2, 3, ... without gaps (0 is PAD, 1 is UNK)")

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        *,
        vocab_size: int,
        max_length: int,
        buckets: int = 2**18,
        min_count: int = 2,
    ) -> TextEncoder:
        """Keep the ``vocab_size - 2`` most frequent words seen at least ``min_count`` times.

        Ties in frequency are broken by the word itself, so the same texts give the same ids.
        """
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2 (PAD and UNK), got {vocab_size!r}")
        counts = Counter(token for text in texts for token in tokenize(clip_text(text, max_length)))
        frequent = sorted((-n, word) for word, n in counts.items() if n >= min_count)
        words = [word for _, word in frequent[: vocab_size - 2]]
        vocabulary = {word: i for i, word in enumerate(words, start=2)}
        return cls(vocabulary=vocabulary, max_length=max_length, buckets=buckets)

    @property
    def n_ids(self) -> int:
        """Rows an embedding table needs for bag input: PAD, UNK, the words, the buckets."""
        return 2 + len(self.vocabulary) + self.buckets

    @property
    def n_token_ids(self) -> int:
        """Rows an embedding table needs for sequence input: PAD, UNK, the words."""
        return 2 + len(self.vocabulary)

    def encode_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """(N, max_length) int64 word ids, right-padded with PAD, unknown words UNK.

        Returns:
            The ids and how many texts had more than ``max_length`` tokens (were truncated).
        """
        rows, truncated = [], 0
        for text in texts:
            tokens, cut = self._tokens(text)
            truncated += cut
            rows.append(self._word_ids(tokens))
        return _pad(rows, width=self.max_length), truncated

    def encode_bag(self, texts: Sequence[str], *, max_features: int | None = None) -> np.ndarray:
        """(N, M) int64 ids padded with PAD: per text its word ids, then hashed bigrams, then
        hashed character n-grams of each word wrapped as "<word>".

        M is the largest count in this batch (at least 1), capped at ``max_features`` (by default
        ``16 * max_length``, about what a text of ``max_length`` 5-letter words produces); the
        cap drops character n-grams first, as they come last.
        """
        cap = max_features if max_features is not None else 4 * self.max_length * 4
        rows = [self._bag_ids(self._tokens(text)[0])[:cap] for text in texts]
        width = max((len(row) for row in rows), default=0)
        return _pad(rows, width=max(width, 1))  # nn.EmbeddingBag fails on zero columns

    def _tokens(self, text: str) -> tuple[list[str], bool]:
        """Its first ``max_length`` tokens, and whether the text held more."""
        tokens = tokenize(clip_text(text, self.max_length))
        cut = len(tokens) > self.max_length or len(text) > CHARS_PER_TOKEN * self.max_length
        return tokens[: self.max_length], cut

    def _word_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocabulary.get(token, UNK) for token in tokens]

    def _bag_ids(self, tokens: list[str]) -> list[int]:
        if not tokens:
            return []
        word_ids, hashes, char_ngram_ids = zip(*map(self._word_features, tokens), strict=True)
        offset, buckets = self._offset, self.buckets
        bigram_ids = [
            offset + (a * _BIGRAM_MULTIPLIER + b) % buckets for a, b in itertools.pairwise(hashes)
        ]
        return [*word_ids, *bigram_ids, *itertools.chain.from_iterable(char_ngram_ids)]

    @property
    def _offset(self) -> int:
        return 2 + len(self.vocabulary)  # hashed ids come after PAD, UNK and the words

    def _word_features(self, word: str) -> _WordFeatures:
        """Its id, its hash and its hashed n-grams; cached, as words repeat (Zipf): ~2x faster."""
        features = self._features_cache.get(word)
        if features is None:
            if len(self._features_cache) >= _CACHED_WORDS:
                self._features_cache.clear()  # bounded memory in a long-running server
            features = self._features_cache[word] = self._compute_word_features(word)
        return features

    def _compute_word_features(self, word: str) -> _WordFeatures:
        wrapped = f"<{word}>"  # the brackets mark prefixes and suffixes ("<un", "ly>")
        low, high = self.char_ngrams
        grams = [
            wrapped[i : i + n] for n in range(low, high + 1) for i in range(len(wrapped) - n + 1)
        ]
        ngram_ids = tuple(self._offset + _crc(gram) % self.buckets for gram in grams)
        return _WordFeatures(self.vocabulary.get(word, UNK), _crc(word), ngram_ids)

    def to_json(self) -> dict:
        """A JSON-ready dict; the words are listed in id order (the first has id 2)."""
        words = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "words": words,
            "max_length": self.max_length,
            "buckets": self.buckets,
            "char_ngrams": list(self.char_ngrams),
        }

    @classmethod
    def from_json(cls, raw: dict) -> TextEncoder:
        """Rebuild an encoder saved with ``to_json``."""
        return cls(
            vocabulary={word: i for i, word in enumerate(raw["words"], start=2)},
            max_length=int(raw["max_length"]),
            buckets=int(raw["buckets"]),
            char_ngrams=tuple(raw["char_ngrams"]),
        )


class _WordFeatures(NamedTuple):
    word_id: int
    hash: int
    char_ngram_ids: tuple[int, ...]


def _crc(key: str) -> int:
    return zlib.crc32(key.encode())


def _pad(rows: list[list[int]], *, width: int) -> np.ndarray:
    out = np.full((len(rows), width), PAD, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
