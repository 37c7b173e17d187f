"""N-way K-shot Q-query episodes, reproducible from a seed.

An episode draws ``ways`` classes, then per class ``queries`` query images
followed by ``shots`` support images, all distinct. Classes and queries are
drawn before the support, so episodes with the same seed and different shot
counts share their classes and query sets: 1-shot and 5-shot results are
paired episode by episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Episode:
    """Indices into a split, labels in 0..ways-1 (class ``classes[i]`` is label i)."""

    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray
    classes: np.ndarray  # the split's class indices, in label order


def sample_episode(labels: np.ndarray, ways: int, shots: int, queries: int, seed: int) -> Episode:
    available = np.unique(labels)
    if ways < 2 or shots < 1 or queries < 1:
        raise ValueError(f"an episode needs ways >= 2, shots >= 1 and queries >= 1, got {ways}, {shots}, {queries}")
    if ways > len(available):
        raise ValueError(f"{ways}-way episodes need {ways} classes; this split has {len(available)}")
    rng = np.random.default_rng([seed, 0x4550])
    classes = rng.choice(available, size=ways, replace=False)
    support, query = [], []
    for cls in classes:
        pool = np.flatnonzero(labels == cls)
        if shots + queries > len(pool):
            raise ValueError(f"class {cls} has {len(pool)} images, fewer than shots + queries = {shots + queries}")
        picked = rng.permutation(pool)
        query.append(picked[:queries])
        support.append(picked[queries : queries + shots])
    return Episode(
        support=np.concatenate(support),
        support_labels=np.repeat(np.arange(ways), shots),
        query=np.concatenate(query),
        query_labels=np.repeat(np.arange(ways), queries),
        classes=classes,
    )
