"""Paging, ordering and full-text search shared by every list operation.

Semantics (documented in the README and the contract):
- `PageIndex` is 1-based; missing means 1 (below 1 is refused before the domain, as live). A page
  past the end is empty.
- `PageSize` defaults to 100; values below 1 mean the default; values above 1000 are clamped to 1000.
- `OrderBy` names a field of the resource, `-field` (or `field desc`) sorts descending; an unknown
  field falls back to `id`. Sorting is stable, case-insensitive for text, with nulls last.
- `query` matches when every whitespace-separated term occurs, case- and accent-insensitively,
  in at least one of the resource's searchable fields.
- A page knows where it is (`Page`): its index, its size, and the number of records searched;
  the HTTP layer answers them as the live API's paging headers.
"""

import math
import unicodedata
from typing import Iterable, Sequence

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def fold(text: str) -> str:
    """Lower-case `text` and strip accents, so that "Société" matches "societe"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _searchable_text(item: dict, fields: Sequence[str]) -> str:
    parts = []
    for path in fields:
        value = item
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            parts.append(str(value))
    return fold(" ".join(parts))


def search(items: Iterable[dict], query: str | None, fields: Sequence[str]) -> list[dict]:
    """Keep the items whose searchable `fields` contain every term of `query`."""
    items = list(items)
    terms = fold(query or "").split()
    if not terms:
        return items
    return [item for item in items if all(t in _searchable_text(item, fields) for t in terms)]


def _sort_key(value):
    # Nulls last, numbers before text, text compared case- and accent-insensitively.
    if value is None:
        return (2, 0, "")
    if isinstance(value, bool):
        return (0, int(value), "")
    if isinstance(value, (int, float)):
        return (0, value, "")
    if isinstance(value, (dict, list)):
        return (1, 0, fold(repr(value)))
    return (1, 0, fold(str(value)))


def parse_order_by(order_by: str | None) -> tuple[str, bool]:
    """Split an `OrderBy` value into (field, descending)."""
    text = (order_by or "").strip()
    descending = False
    if text.startswith("-"):
        text, descending = text[1:].strip(), True
    else:
        words = text.split()
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            text, descending = words[0], words[1].lower() == "desc"
    return text, descending


def order(items: Iterable[dict], order_by: str | None) -> list[dict]:
    """Sort items by the `OrderBy` field (case-insensitive name), falling back to `id`."""
    items = list(items)
    field, descending = parse_order_by(order_by)
    if items and field:
        names = {key.casefold(): key for item in items for key in item}
        field = names.get(field.casefold(), "id")
    else:
        field = "id"
    ranked = sorted(items, key=lambda item: _sort_key(item.get("id")))
    if field != "id" or descending:  # (sorting by id again would change nothing)
        ranked.sort(key=lambda item: _sort_key(item.get(field)), reverse=descending)
    if descending:
        # Keep nulls last whatever the direction.
        ranked = [i for i in ranked if i.get(field) is not None] + [i for i in ranked if i.get(field) is None]
    return ranked


class Page(list):
    """One page of a list: its items, and `index` (1-based), `size` (the page size applied) and
    `records` (how many items all pages hold)."""

    def __init__(self, items: Iterable[dict], index: int, size: int, records: int):
        super().__init__(items)
        self.index, self.size, self.records = index, size, records

    @property
    def count(self) -> int:
        """The number of pages (0 when there is no record)."""
        return math.ceil(self.records / self.size)

    def of(self, items: Iterable[dict]) -> "Page":
        """The same page holding `items` instead (e.g. copies of its own)."""
        return Page(items, self.index, self.size, self.records)


def page(items: Sequence[dict], page_index: int | None, page_size: int | None) -> Page:
    """Cut one page out of `items` following the documented paging semantics."""
    index = page_index if page_index and page_index > 0 else 1
    size = page_size if page_size and page_size > 0 else DEFAULT_PAGE_SIZE
    size = min(size, MAX_PAGE_SIZE)
    start = (index - 1) * size
    return Page(items[start:start + size], index, size, len(items))


def listing(items: Iterable[dict], *, query=None, fields=(), order_by=None, page_index=None, page_size=None) -> Page:
    """Search, order and page `items` in one call: what every list operation does."""
    return page(order(search(items, query, fields), order_by), page_index, page_size)
