"""The garbage collector of the server process (`serve`): short pauses while the store grows.

The sandbox keeps what its clients write: every stored document stays alive, and Python's collector
walks each object it tracks again and again until a full collection. In a young collection it walks
everything allocated since the last one. In a middle one it walks all that survived since the last
middle one, and in a full one it walks every live object, the whole store included. So the pauses
grow with the store. At thresholds (50,000, 20, 100), each young collection took 25–30 ms. A full
one took 110 ms with 6,200 invoices stored and 190–235 ms with 15,000. Every request in flight
waits for a pause.

So the objects that survive a collection are frozen (`gc.freeze`) as soon as it ends. No later
automatic collection walks them again, and each one walks only what was allocated since the last:
about 1,000 objects at these thresholds, 0.4 ms (median) and 1.1 ms at most in process, where
10,000 took 6.5 ms and 14 ms, and 3,000 1.6 ms and 3.9 ms (in all, fewer milliseconds spent
collecting at 1,000: 76 against 109 over the same 9,200 create + finalize pairs). Reference counting still frees a frozen object that is no longer used (a replaced
document, a finished request). What freezing keeps is only cyclic garbage: a cycle alive when it
was frozen and dropped later (184 objects after 15,200 create + finalize pairs; a tenant's store
and its lock guard make one). So the frozen objects go back to the collector now and then, and
one full collection walks everything and frees such cycles: at most once every `RESCAN_SECONDS`,
and only once the collections since the last rescan have frozen a quarter as many objects again.
An idle sandbox is never walked. A busy one pauses for one full collection every five minutes at
most. Rescanning on growth alone walked 250,000–400,000 objects (70–160 ms) twice in a single
benchmark row.

docs/benchmarks.md has the numbers (create + finalize, two sandboxes side by side).
"""

from __future__ import annotations

import gc
import threading
import time

THRESHOLDS = (1_000, 20, 100)
"""A young collection every 1,000 net allocations. With what survived frozen after each one, its
pause stays near a millisecond, however much the store holds. Each pause delays every request in
flight: under `make bench`'s create + finalize load, two sandboxes side by side gave a p99 of
14.5 and 14.6 ms at 1,000 against 24.4 and 22.4 ms at 10,000, with the same throughput."""

RESCAN_SECONDS = 300.0
"""The shortest time between two full rescans."""

GROWTH = 0.25
"""A rescan waits until the objects frozen since the last are this share of what it left frozen."""


class FrozenSurvivors:
    """The server process's collector policy. Made, it sets `THRESHOLDS` (`serve` makes it before
    start-up's imports, which the default thresholds would walk in full collections). Installed
    (`with policy:`, around the server's run), it freezes the survivors of each collection and
    runs a full rescan on a thread of its own (`every` seconds at most, once `growth` times as many
    objects again are frozen). On exit the rescans stop, nothing more is frozen and the caller's
    thresholds, read when it was made, are back."""

    def __init__(self, every: float = RESCAN_SECONDS, growth: float = GROWTH):
        self.every, self.growth = every, growth
        self.rescans = 0
        self._restore = gc.get_threshold()
        gc.set_threshold(*THRESHOLDS)
        self._baseline = 0  # objects frozen by the last rescan (or at start)
        self._since = 0  # objects frozen since, by the collections' callbacks
        self._rescanning = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "FrozenSurvivors":
        # What start-up built (modules, contracts, validators, the seeded tenants) is long-lived:
        # one full collection, then it is frozen like every later collection's survivors.
        gc.collect()
        gc.freeze()
        self._baseline, self._since = gc.get_freeze_count(), 0
        gc.callbacks.append(self._collected)
        self._thread = threading.Thread(target=self._rescans, name="gc-rescan", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        gc.set_threshold(*self._restore)

    @property
    def due(self) -> bool:
        """Enough objects frozen since the last rescan for the next one."""
        return self._since >= self._baseline * self.growth

    def _collected(self, phase: str, info: dict) -> None:
        """`gc.callbacks`: once a collection has ended, what it left alive is counted and frozen.
        Not during a rescan: a young collection on another thread would freeze again what the
        rescan has just unfrozen, before its full collection walks it.

        The objects are counted from the generations (about a threshold's worth, well under a
        millisecond), not by `gc.get_freeze_count()`, which walks every frozen object: 15–20 ms
        with 15,000 invoices stored, too long for every collection. Frozen objects that reference
        counting frees later still count, so the count is high, never low."""
        if phase != "stop" or self._rescanning:
            return
        self._since += sum(len(gc.get_objects(generation)) for generation in range(3))
        gc.freeze()

    def rescan(self) -> int:
        """Every object back to the collector, one full collection, its survivors frozen again:
        the number of unreachable objects it found."""
        self._rescanning = True
        try:
            gc.unfreeze()
            found = _full_collection()
            gc.freeze()
        finally:
            self._rescanning = False
        self._baseline, self._since = gc.get_freeze_count(), 0
        self.rescans += 1
        return found

    def _rescans(self) -> None:
        while not self._stop.wait(self.every):
            if self.due:
                self.rescan()


def _full_collection() -> int:
    """`gc.collect()`, done: while another thread is inside a collection (its callbacks run Python
    code, so the GIL can pass to the rescan's thread), `gc.collect()` returns 0 at once without
    collecting. It is tried again, up to a second, until Python's count of full collections says
    one ran."""
    for _ in range(1000):
        before = gc.get_stats()[2]["collections"]
        found = gc.collect()
        if gc.get_stats()[2]["collections"] > before:
            return found
        time.sleep(0.001)
    return 0
