"""Nearest-neighbour distances in float32, chunked so that no ``N x N`` matrix is built for large sets.

Shared by precision-recall (``prdc``: k-NN radii), the birthday test (all pairwise distances) and memorisation
(nearest training and held-out samples).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ganzoo.evaluation import EvaluationError


def sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(len(a), len(b))`` in float32 (features are compared, never summed)."""
    a2 = (a * a).sum(1)[:, None]
    b2 = (b * b).sum(1)[None, :]
    return np.maximum(a2 + b2 - 2.0 * (a @ b.T), 0.0)


def chunks(n: int, size: int = 1024) -> Iterator[slice]:
    """Slices of ``range(n)`` of at most ``size`` rows."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of ``x`` to its ``k``-th nearest other row."""
    x = np.asarray(x, np.float32)
    if len(x) <= k:
        raise EvaluationError(f"k-NN radii with k={k} need more than {k} samples, got {len(x)}")
    radii = np.empty(len(x), np.float32)
    for rows in chunks(len(x)):
        d = sq_dists(x[rows], x)
        radii[rows] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself (distance 0)
    return np.sqrt(radii)


def nearest(query: np.ndarray, base: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``base`` for each row of ``query``: distances and indices, ``(len(query), k)``."""
    query, base = np.asarray(query, np.float32), np.asarray(base, np.float32)
    k = min(k, len(base))
    dist = np.empty((len(query), k), np.float32)
    index = np.empty((len(query), k), np.int64)
    for rows in chunks(len(query)):
        d = sq_dists(query[rows], base)
        if k < len(base):
            part = np.argpartition(d, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(len(base)), d.shape).copy()
        order = np.take_along_axis(d, part, 1).argsort(axis=1)
        index[rows] = np.take_along_axis(part, order, 1)
        dist[rows] = np.sqrt(np.take_along_axis(d, index[rows], 1))
    return dist, index
