"""Pages of long lists without counting them: fetch one row more than shown to know whether
a next page exists. Counting a million addresses on every page view would cost more than
showing them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

T = TypeVar("T")

PAGE_SIZE = 50
MAX_PAGE = 100_000  # beyond this an offset is no longer a sensible way to find anything


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page."""
        return (self.number - 1) * self.size + 1


def page_number(value: int | str | None) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def fetch_page(
    session: Session, query: Select[Any], number: int, size: int = PAGE_SIZE
) -> Page[Any]:
    """One page of `query`'s rows (ORM entities when it selects one). The query must be
    ordered by indexed columns so that the database can stop after the page."""
    rows = list(session.scalars(query.limit(size + 1).offset((number - 1) * size)).unique())
    return Page(rows[:size], number, size, len(rows) > size)
