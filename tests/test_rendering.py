"""The render slots on their own (one event loop, no server): per-tenant bounds, tenants served in
turn, a wait given up leaving no trace."""

from __future__ import annotations

import asyncio

from mock_server.rendering import RenderSlots


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=5))


async def granted(slots: RenderSlots, order: list[str], tenant: str, label: str) -> None:
    await slots.acquire(tenant)
    order.append(label)


def test_a_tenant_gets_at_most_its_share_and_freed_slots_go_to_the_tenants_in_turn():
    async def scenario():
        slots, order = RenderSlots(total=4, per_tenant=2), []
        waits = [asyncio.create_task(granted(slots, order, "A", f"A{n}")) for n in range(1, 6)]
        await asyncio.sleep(0)
        assert order == ["A1", "A2"]  # A's share, however many it asks for
        waits += [asyncio.create_task(granted(slots, order, "B", "B1")),
                  asyncio.create_task(granted(slots, order, "C", "C1")),
                  asyncio.create_task(granted(slots, order, "C", "C2")),
                  asyncio.create_task(granted(slots, order, "D", "D1"))]
        await asyncio.sleep(0)
        assert order == ["A1", "A2", "B1", "C1"]  # the four slots taken; C2 and D1 wait with A3-A5
        slots.release("A")
        await asyncio.sleep(0)
        assert order[-1] == "D1"  # the waiting tenant with the fewest renders under way (none)
        slots.release("B")
        await asyncio.sleep(0)
        assert order[-1] == "A3"  # A and C have one each: A has waited longest
        slots.release("D")
        await asyncio.sleep(0)
        assert order[-1] == "C2"  # then C, before A's next
        assert slots.state("A") == {"running": 2, "waiting": 2, "cancelled": 0, "perTenant": 2, "total": 4}
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        # Waits given up leave nothing behind: the freed slots go to the next tenant at once.
        assert slots.state("A")["waiting"] == 0
        for tenant in ("A", "A", "C", "C"):
            slots.release(tenant)
        await granted(slots, order, "E", "E1")
        assert slots.state("E")["running"] == 1

    run(scenario())
