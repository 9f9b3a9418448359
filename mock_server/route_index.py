"""Candidate routes of a request path, looked up by what the path starts with.

Both the live-behaviour layer (`canonical.Canonical.route`) and the request journal
(`journal.Operations.match`) try a contract's path templates in a fixed order (static segments
before parameters) until one matches. Trying only the templates of the path's shape (its segment
count and, when literal, its first two segments) keeps that order and skips the rest.
"""

from __future__ import annotations

from typing import Generic, Hashable, Iterable, TypeVar

T = TypeVar("T")


class RouteIndex(Generic[T]):
    """Items (routes) in the order they are to be tried, indexed by `(group, head)`: `group` what a
    request must share with the item (e.g. its segment count), `head` its first two segments, or
    None when one of them is a parameter (then it is a candidate whatever the request's head)."""

    def __init__(self, items: Iterable[tuple[Hashable, tuple | None, T]]):
        self._by_key: dict[tuple, tuple[list[int], list[T]]] = {}  # key -> (ranks, items), in order
        for rank, (group, head, item) in enumerate(items):
            ranks, kept = self._by_key.setdefault((group, head), ([], []))
            ranks.append(rank)
            kept.append(item)

    def candidates(self, group: Hashable, head: tuple) -> list[T]:
        """The items a request of `group` whose first two segments are `head` may match, in order
        (one of the index's own lists when only one key has some: not to be changed)."""
        exact, loose = self._by_key.get((group, head)), self._by_key.get((group, None))
        if exact and loose:
            return [item for _, item in sorted((*zip(*exact), *zip(*loose)), key=lambda pair: pair[0])]
        return (exact or loose or ((), []))[1]
