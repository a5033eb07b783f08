"""Vocabulary of a text column, and drift on it: new data that speaks of other things.

Length in words (`tasks.data.text`) misses texts that keep their length but change their
words: tickets about a new product, reviews in another language. What a model trained on
text cannot use is a word it never saw, so the drift measured here is the rise in the share of
new words outside the training split's vocabulary (the out-of-vocabulary rate).

The reference keeps the training split's TOP_TOKENS most frequent words with their counts,
the total of words, and how many words were seen once. Even new data from the same source
holds words that training never saw; Good-Turing's estimate of that share is the share of
words seen once (a word seen once in training is as rare as an unseen one). So the expected
share outside the reference's words is that of the training words beyond the top ones plus
the share of words seen once, and the distance is how far the new data's share rises above
it: 0.1 means one word in ten more that the model does not know.

The top words are picked by the same counts they are measured on, so when a vocabulary is
flat and much wider than TOP_TOKENS the expected share comes out low and same-source data can
show a rise (3,000 equally common words: 0.12); text's Zipf-like counts keep it near 0.

Words are split as the model's `TextVectorization` splits them by default: lower-cased,
punctuation removed, split on whitespace.
"""

from __future__ import annotations

import pandas as pd

TOP_TOKENS = 2_000  # words of the training split kept in the reference, with their counts
VOCABULARY = "oov rate rise"  # the metric of a text column's vocabulary drift
PUNCTUATION = r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']"  # Keras's default strip


def token_counts(values: pd.Series) -> pd.Series:
    """Words over every value of a batch, with their counts (most frequent first)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pa.array(values.astype("string"), type=pa.large_string(), from_pandas=True)
    plain = pc.replace_substring_regex(pc.utf8_lower(strings.drop_null()), PUNCTUATION, "")
    words = pc.list_flatten(pc.utf8_split_whitespace(plain))
    if not len(words):
        return pd.Series(dtype="int64")
    counted = pc.value_counts(words)
    found = pd.Series(counted.field("counts").to_numpy(), index=counted.field("values").to_pylist())
    return found.sort_values(ascending=False, kind="stable")


def vocabulary_reference(values: pd.Series) -> dict:
    """The training values' most frequent words with their counts, the total of words and
    how many were seen once."""
    counts = token_counts(values)
    top = counts.iloc[:TOP_TOKENS]
    return {
        "tokens": {str(k): int(v) for k, v in top.items()},
        "total": int(counts.sum()),
        "seen_once": int((counts == 1).sum()),
    }


def expected_unknown(reference: dict) -> float:
    """The share of new words expected outside the reference's words with no drift at all."""
    if not reference["total"]:
        return 0.0
    beyond = reference["total"] - sum(reference["tokens"].values())
    return min(1.0, (beyond + reference["seen_once"]) / reference["total"])


class VocabularyCounter:
    """New data's words, counted as known (among the reference's words) or unknown, one
    batch at a time."""

    def __init__(self, reference: dict) -> None:
        self.known = set(reference["tokens"])
        self.expected = expected_unknown(reference)
        self.words = self.unknown = 0

    def add(self, values: pd.Series) -> None:
        counts = token_counts(values)
        self.words += int(counts.sum())
        self.unknown += int(counts[~counts.index.isin(self.known)].sum())

    def distance(self) -> float | None:
        """How far the share of unknown words rose above the expected share (0: no rise)."""
        if not self.words:
            return None
        return max(0.0, self.unknown / self.words - self.expected)

    def shares(self) -> dict[str, float]:
        """The share of unknown words expected from training, and the new data's."""
        found = self.unknown / self.words if self.words else 0.0
        return {"expected_oov_share": round(self.expected, 4), "oov_share": round(found, 4)}
