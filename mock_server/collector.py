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
about 10,000 objects at these thresholds: 5 ms (median) and 14 ms at most, with 15,000 invoices
stored. Reference counting still frees a
frozen object that is no longer used (a replaced document, a finished request). What freezing
keeps is only cyclic garbage: a cycle alive when it was frozen and dropped later. So every
`RESCAN_SECONDS` the frozen objects go back to the collector, and one full collection walks
everything and frees such cycles. That is one pause of the old full size every five minutes.

docs/benchmarks.md has the numbers (create + finalize, two sandboxes side by side).
"""

from __future__ import annotations

import gc
import threading

THRESHOLDS = (10_000, 20, 100)
"""A young collection every 10,000 net allocations. With what survived frozen after each one, its
pause stays a few milliseconds, however much the store holds."""

RESCAN_SECONDS = 300.0
"""How often every object is walked once more, so that cyclic garbage among the frozen is freed."""


class FrozenSurvivors:
    """The policy while it is installed (`with FrozenSurvivors(...)`, around the server's run):
    `THRESHOLDS`, the survivors of each collection frozen, and a full rescan every `rescan`
    seconds. On exit the rescans stop, nothing more is frozen and the thresholds are `restore`
    (the caller's, read before `serve` set `THRESHOLDS` ahead of start-up's imports)."""

    def __init__(self, restore: tuple[int, ...], rescan: float = RESCAN_SECONDS):
        self.rescan_every = rescan
        self.rescans = 0
        self._restore = restore
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "FrozenSurvivors":
        gc.set_threshold(*THRESHOLDS)
        # What start-up built (modules, contracts, validators, the seeded tenants) is long-lived:
        # one full collection, then it is frozen like every later collection's survivors.
        gc.collect()
        gc.freeze()
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

    @staticmethod
    def _collected(phase: str, info: dict) -> None:
        """`gc.callbacks`: once a collection has ended, what it left alive is frozen."""
        if phase == "stop":
            gc.freeze()

    def rescan(self) -> int:
        """Every object back to the collector, one full collection (which freezes the survivors
        again): the number of unreachable objects it found."""
        gc.unfreeze()
        found = gc.collect()
        self.rescans += 1
        return found

    def _rescans(self) -> None:
        while not self._stop.wait(self.rescan_every):
            self.rescan()
