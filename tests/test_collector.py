"""The server process's collector (collector.py): survivors frozen after each collection, cyclic
garbage among them freed by a rescan once the frozen objects have grown, the caller's collector
given back."""

import gc
import threading
import weakref

import pytest

from mock_server import collector
from mock_server.collector import FrozenSurvivors


class Node:
    def __init__(self):
        self.other = self


@pytest.fixture
def callers_gc():
    """The test process's own collector, as it was, whatever a test did to it."""
    thresholds = gc.get_threshold()
    yield thresholds
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    gc.collect()


def test_what_survives_a_collection_is_frozen_and_the_thresholds_are_the_servers(callers_gc):
    with FrozenSurvivors(every=3600):
        assert gc.get_threshold() == collector.THRESHOLDS
        alive = [Node() for _ in range(100)]
        gc.collect(0)
        frozen = gc.get_freeze_count()
        assert frozen >= len(alive)
        # No later collection walks the frozen: nothing tracked is left in the generations.
        assert not any(isinstance(o, Node) for o in gc.get_objects())
    assert gc.get_threshold() == callers_gc
    assert alive


def test_a_frozen_cycle_dropped_later_is_freed_by_the_next_rescan(callers_gc):
    with FrozenSurvivors(every=3600) as policy:
        node = Node()
        gone = weakref.ref(node)
        gc.collect()  # survives, frozen
        del node
        gc.collect()  # a full automatic collection does not see the frozen cycle
        assert gone() is not None
        assert policy.rescan() >= 1
        assert gone() is None


class ProbeList(list):
    """A list that can be weakly referenced."""


def test_a_frozen_object_no_longer_used_is_still_freed_by_reference_counting(callers_gc):
    with FrozenSurvivors(every=3600):
        document = ProbeList([{"vat": {"rate": 20}}])  # a stored document, replaced later
        dropped = weakref.ref(document)
        gc.collect()  # survives: frozen
        assert not any(o is document for o in gc.get_objects())
        del document
        assert dropped() is None


def test_a_rescan_runs_on_its_own_once_enough_objects_were_frozen_since_the_last(callers_gc):
    ran = threading.Event()

    class Counted(FrozenSurvivors):
        def rescan(self):
            found = super().rescan()
            ran.set()
            return found

    with Counted(every=0.01, growth=0.5) as policy:
        node = Node()
        gone = weakref.ref(node)
        gc.collect(0)  # frozen: only a rescan can free it once dropped
        del node
        assert gone() is not None
        assert not policy.due and policy.rescans == 0  # a few objects frozen since the start: not yet
        kept = [[Node()] for _ in range(policy._baseline // 3)]  # 3 tracked objects each
        gc.collect(0)  # as many again frozen: the next look finds the rescan due
        assert ran.wait(timeout=10)
        assert gone() is None
        assert not policy.due  # counted afresh from the rescan
    done = policy.rescans
    assert not policy._thread.is_alive()
    assert policy.rescans == done >= 1
    assert policy._collected not in gc.callbacks
    assert kept
