"""A clock per tenant that tests can set, freeze and move forward (due dates, Expired invoices).

The clock stays within `EARLIEST` .. `LATEST` (2000-01-01 .. 2100-12-31, UTC): dates computed from
it (due dates, validity dates, years in numbers) then stay far from the ends of Python's dates."""

from __future__ import annotations

import datetime as dt
from typing import Callable

from ..domain.collection import utcnow

CLOCK = "SandboxClock"
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(2100, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)


class OutOfRange(ValueError):
    """A clock setting outside `EARLIEST` .. `LATEST`."""

    def __init__(self, now: dt.datetime | None = None):
        where = f" ({now.isoformat().replace('+00:00', 'Z')})" if now is not None else ""
        super().__init__(f"The sandbox clock must stay between 2000-01-01T00:00:00Z and 2100-12-31T23:59:59Z{where}")


def _in_range(now: dt.datetime) -> dt.datetime:
    if not EARLIEST <= now <= LATEST:
        raise OutOfRange(now)
    return now


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 instant (a date alone means midnight UTC); naive times are taken as UTC."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


class TenantClock:
    """Real time, shifted by an offset, or frozen at an instant; the setting lives in the tenant's data."""

    def __init__(self, repo, real: Callable[[], dt.datetime] = utcnow, *, committed: bool = False):
        """`committed`: read the setting as last committed (`TenantStore.scan_committed`), for a
        reader outside any transaction (the request journal)."""
        self.repo = repo
        self.real = real
        self.committed = committed

    def _setting(self) -> dict | None:
        # Read only: no need for copies (called per document listed).
        found = self.repo.scan_committed(CLOCK) if self.committed else self.repo.scan(CLOCK)
        return found[0] if found else None

    def __call__(self) -> dt.datetime:
        setting = self._setting()
        if setting is None:
            return self.real()
        if setting.get("frozenAt"):
            return parse_instant(setting["frozenAt"])
        return self.real() + dt.timedelta(seconds=setting.get("offsetSeconds", 0))

    def state(self) -> dict:
        setting = self._setting() or {}
        now = self()
        return {"now": now.isoformat().replace("+00:00", "Z"), "frozen": bool(setting.get("frozenAt")),
                "offsetSeconds": round((now - self.real()).total_seconds(), 3) + 0.0}

    def _save(self, setting: dict | None) -> None:
        with self.repo.transaction():
            current = self._setting()
            if current is not None:
                self.repo.delete(CLOCK, current["id"])
            if setting is not None:
                self.repo.insert(CLOCK, setting)

    def set(self, now: dt.datetime | None, frozen: bool = True) -> dict:
        """Move the clock to `now` (None: back to real time), frozen there or running from there;
        `OutOfRange` outside the clock's range."""
        if now is not None:
            _in_range(now)
        if now is None:
            self._save(None)
        elif frozen:
            self._save({"frozenAt": now.isoformat()})
        else:
            self._save({"offsetSeconds": (now - self.real()).total_seconds()})
        return self.state()

    def advance(self, delta: dt.timedelta) -> dict:
        """Move the clock forward (or back, with a negative delta), keeping it frozen if it was;
        `OutOfRange` when that leaves the clock's range."""
        try:
            _in_range(self() + delta)
        except OverflowError:
            raise OutOfRange() from None
        setting = self._setting() or {}
        if setting.get("frozenAt"):
            self._save({"frozenAt": (parse_instant(setting["frozenAt"]) + delta).isoformat()})
        else:
            self._save({"offsetSeconds": setting.get("offsetSeconds", 0) + delta.total_seconds()})
        return self.state()
