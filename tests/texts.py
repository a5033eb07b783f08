"""Short product reviews, generated: what a user's table of free text looks like to us.

Each review is 6 to 20 words drawn from neutral filler plus words that lean positive or
negative (each class also uses a few of the other's words, and some words are shared), so
the sentiment is learnable from the words but not from any one of them. Beside the text: a
UUID per row (an identifier the pipeline must leave out), a channel (a category) and a
number of stars that agrees with the sentiment only loosely.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FILLER = words(
    "the this it was is product item order arrived delivery box i we my our and but with after "
    "one two days week again really quite very overall time price quality size colour"
)
POSITIVE = words("great love excellent perfect happy recommend works fast lovely sturdy")
NEGATIVE = words("broken poor refund awful late disappointed cheap faulty worst returned")


def review(rng: np.random.Generator, positive: bool) -> str:
    """One review: filler with about a third of its words leaning one way."""
    length = int(rng.integers(6, 21))
    lean, other = (POSITIVE, NEGATIVE) if positive else (NEGATIVE, POSITIVE)
    words = []
    for _ in range(length):
        draw = rng.random()
        pool = lean if draw < 0.3 else other if draw < 0.36 else FILLER
        words.append(pool[int(rng.integers(len(pool)))])
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", "!", "", " :)"])


def reviews(rows: int, seed: int = 0) -> pd.DataFrame:
    """`order_id` (UUID), `review` (text), `channel`, `stars` and the label, `sentiment`."""
    rng = np.random.default_rng(seed)
    positive = rng.random(rows) < 0.5
    stars = np.where(positive, rng.integers(3, 6, rows), rng.integers(1, 4, rows))
    return pd.DataFrame(
        {
            "order_id": [str(uuid.UUID(bytes=rng.bytes(16))) for _ in range(rows)],
            "review": [review(rng, bool(p)) for p in positive],
            "channel": rng.choice(["web", "shop", "app"], rows),
            "stars": stars,
            "sentiment": np.where(positive, "positive", "negative"),
        }
    )


def review_folder(root: Path, rows: int, seed: int = 0) -> Path:
    """The reviews as `root/<sentiment>/NNNN.txt`, one file each: Keras's
    `text_dataset_from_directory` layout."""
    for index, row in reviews(rows, seed).iterrows():
        folder = root / row["sentiment"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:04d}.txt").write_text(row["review"] + "\n", encoding="utf-8")
    return root
