"""The real AWS batch limits, in one place, and helpers that respect them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

DESCRIBE_CLUSTERS_MAX = 100
DESCRIBE_SERVICES_MAX = 10
LIST_SERVICES_PAGE = 100
LIST_RULES_PAGE = 100


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def parallel_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """Order-preserving map over a thread pool (boto3 clients are thread-safe)."""
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def every_item(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """All of `key` across the pages of a listing, through botocore's paginator for `operation`."""
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]
