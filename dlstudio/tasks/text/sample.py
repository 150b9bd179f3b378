"""A generated sample for the text template: product reviews with their sentiment, written to
teach: many words for the same thing, negations ("not excellent"), plain facts for neutral, and a few mislabelled rows, as real exports have. Both the model
and the TF-IDF baseline make mistakes on it, so Results has mistakes to show, and the model that
understands wording (the pretrained backbone) has room to do better than counting words."""

from __future__ import annotations

import numpy as np
import pandas as pd

LABELS = ("positive", "negative", "neutral")
MISLABELLED = 0.03  # share of rows whose label is wrong, as in exports labelled by hand

_THINGS = ["battery", "screen", "delivery", "price", "sound", "camera", "charger", "app",
           "case", "keyboard", "packaging", "customer service"]  # fmt: skip
_ADJECTIVES = {
    "positive": ["excellent", "superb", "brilliant", "fantastic", "wonderful", "great",
                 "outstanding", "terrific", "lovely", "perfect", "impressive", "reliable",
                 "sturdy", "first-rate", "splendid", "marvellous", "flawless", "amazing",
                 "top-notch", "delightful", "solid", "stellar", "exceptional", "fabulous",
                 "gorgeous", "sleek", "dependable", "remarkable", "phenomenal", "magnificent",
                 "praiseworthy", "sublime", "handy", "trusty", "faultless", "cracking",
                 "exemplary", "premium", "glorious", "charming", "nifty", "peerless",
                 "durable", "elegant", "well-built", "superior"],
    "negative": ["terrible", "awful", "dreadful", "useless", "flimsy", "faulty",
                 "disappointing", "poor", "horrible", "shoddy", "unreliable", "defective",
                 "rubbish", "pathetic", "appalling", "atrocious", "dire", "lousy", "abysmal",
                 "junk", "frustrating", "worthless", "dismal", "substandard", "dodgy",
                 "crummy", "botched", "second-rate", "tacky", "clunky", "shoddy-looking",
                 "inferior", "deplorable", "shabby", "lamentable", "broken", "janky",
                 "miserable", "woeful", "infuriating", "unusable", "buggy", "overpriced",
                 "hopeless", "sloppy", "messy"],
}  # fmt: skip
_SAYINGS = {
    "positive": ["the {t} is {a}", "{a} {t}", "I find the {t} {a}", "what a {a} {t}",
                 "the {t} turned out {a}", "the {t} feels {a}"],
    "negative": ["the {t} is {a}", "{a} {t}", "I find the {t} {a}", "what a {a} {t}",
                 "the {t} turned out {a}", "the {t} feels {a}",
                 "the {t} is not {p}", "the {t} is far from {p}", "not a {p} {t} at all"],
    "neutral": ["the {t} is what you would expect", "the {t} arrived on {d}",
                "bought it as a gift, the {t} is standard", "have not used the {t} much yet",
                "the {t} is the same as the previous model", "the {t} comes in {c}",
                "no strong feelings about the {t}", "the {t} does what the box says",
                "the {t} is average for the price range", "the {t} is neither good nor bad",
                "it has a {t}, like most of them", "the {t} is okay, we will see",
                "the {t} was delivered to my {r}", "ordered a second one for my {r}"],
}  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Friday", "the weekend", "time"]
_COLOURS = ["black", "white", "blue", "two sizes"]
_RELATIVES = ["office", "brother", "mother", "neighbour", "son"]
_OPENINGS = ["", "", "", "Honestly, ", "Overall ", "After a month, ", "For what it's worth, "]
_ENDS = {"positive": [".", "!", " :)", "."], "negative": [".", "!", "...", "."],
         "neutral": [".", ".", "", "."]}  # fmt: skip


def reviews(n: int = 600, *, seed: int = 3) -> pd.DataFrame:
    """``n`` reviews, a third of each sentiment, in a fixed (seeded) order."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = LABELS[i % 3]
        text = _review(label, rng)
        if rng.random() < MISLABELLED:
            label = str(rng.choice([other for other in LABELS if other != label]))
        rows.append({"review_id": i + 1, "review": text, "sentiment": label})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _review(label: str, rng: np.random.Generator) -> str:
    """One review of ``label``: a way of saying it, with its words drawn at random."""
    saying = str(rng.choice(_SAYINGS[label])).format(
        t=rng.choice(_THINGS),
        a=rng.choice(_ADJECTIVES.get(label, [""])),
        p=rng.choice(_ADJECTIVES["positive"]),  # negated: "not excellent" says negative
        d=rng.choice(_DAYS), c=rng.choice(_COLOURS), r=rng.choice(_RELATIVES),
    )  # fmt: skip
    text = f"{rng.choice(_OPENINGS)}{saying}{rng.choice(_ENDS[label])}"
    return text[0].upper() + text[1:]
