"""A generated sample for the text template: short product reviews with their sentiment."""

from __future__ import annotations

import numpy as np
import pandas as pd

_THINGS = ["battery", "screen", "delivery", "price", "sound", "case", "charger", "app", "camera"]
_WORDS = {
    "positive": ["great", "excellent", "love the", "really happy with the", "fantastic",
                 "works perfectly, the", "best purchase, the", "très bien, le"],
    "negative": ["terrible", "awful", "hate the", "very disappointed with the", "broken",
                 "stopped working, the", "waste of money, the", "muy malo, el"],
    "neutral": ["okay", "average", "nothing special about the", "as expected, the",
                "fine I guess, the", "no opinion on the", "it is a", "normal"],
}  # fmt: skip
_ENDS = {"positive": ["!", " 👍", ".", "!!"], "negative": ["!", " 👎", ".", "..."],
         "neutral": [".", "", ".", "."]}  # fmt: skip


def reviews(n: int = 600, *, seed: int = 3) -> pd.DataFrame:
    """``n`` one-line reviews, a third of each sentiment, in a fixed (seeded) order."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = ("positive", "negative", "neutral")[i % 3]
        text = f"{rng.choice(_WORDS[label])} {rng.choice(_THINGS)}{rng.choice(_ENDS[label])}"
        rows.append({"review_id": i + 1, "review": text.capitalize(), "sentiment": label})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
