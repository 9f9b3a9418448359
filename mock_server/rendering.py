"""PDF renders shared fairly by the tenants, and given up when their client leaves.

A render is CPU work in one of the handlers' threads (Connexion's thread pool, shared by every request).
`FairRenders`, a Connexion middleware after routing and security (the operationId and the tenant
are in the scope), admits the sale documents' `Download` operations through `RenderSlots`: at most
`total` renders at a time (fewer than the threads, so other requests always find one), at most
`per_tenant` of them for one tenant, and a freed slot goes to the waiting tenant with the fewest
renders under way (in turn among equals). A
download waiting for its slot waits on the event loop, holding no thread.

A client that leaves (`http.disconnect`) ends its download: waiting, it gives up its place;
rendering, the render stops at its next line (`pdfs.RenderCancelled`: the handler finds the
request's cancellation with `cancellation()`), and whatever the handler answers is dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, OrderedDict, deque
from typing import Callable

from connexion.middleware.abstract import ROUTING_CONTEXT

RENDER_OPERATIONS = frozenset({"GET_SaleInvoices_Download", "GET_SaleCredits_Download", "GET_SaleQuotes_Download"})
_CANCEL_KEY = "altoviz_mock.render_cancelled"


class RenderSlots:
    """Who may render now: at most `total` renders, at most `per_tenant` of one tenant; a free slot
    goes to the waiting tenant with the fewest renders under way, in turn (round robin) among
    equals, each tenant's requests in their order. Event-loop only.

    Per tenant it counts the renders `running`, `waiting`, and `cancelled` (their client left
    before the answer), which `GET /_mock/renders` shows to the tenant."""

    def __init__(self, total: int, per_tenant: int):
        self.total, self.per_tenant = total, per_tenant
        self._active = 0
        self._running: Counter[str] = Counter()
        self._cancelled: Counter[str] = Counter()
        self._waiting: OrderedDict[str, deque[asyncio.Future]] = OrderedDict()  # tenants in turn

    async def acquire(self, tenant: str) -> None:
        """Wait for a slot of `tenant`'s (cancel the wait to give the place up)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(tenant, deque()).append(future)
        self._grant()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(tenant)  # granted just as the wait was given up
            else:
                queue = self._waiting.get(tenant)
                if queue is not None and future in queue:
                    queue.remove(future)
                    if not queue:
                        del self._waiting[tenant]
            raise

    def release(self, tenant: str) -> None:
        self._active -= 1
        self._running[tenant] -= 1
        if not self._running[tenant]:
            del self._running[tenant]
        self._grant()

    def cancelled(self, tenant: str) -> None:
        """Count a render whose client left before its answer."""
        self._cancelled[tenant] += 1

    def state(self, tenant: str) -> dict:
        return {"running": self._running.get(tenant, 0), "waiting": len(self._waiting.get(tenant, ())),
                "cancelled": self._cancelled.get(tenant, 0), "perTenant": self.per_tenant, "total": self.total}

    def _grant(self) -> None:
        while self._active < self.total:
            # The waiting tenant with the fewest renders under way; among equals, the one in turn.
            eligible = [t for t in self._waiting if self._running[t] < self.per_tenant]
            if not eligible:
                return
            tenant = min(eligible, key=self._running.__getitem__)
            queue = self._waiting.pop(tenant)
            future = queue.popleft()
            if queue:
                self._waiting[tenant] = queue  # behind the other waiting tenants: their turn first
            self._active += 1
            self._running[tenant] += 1
            future.set_result(None)


class FairRenders:
    """ASGI middleware (in front of Connexion's `ContextMiddleware`: app.py) admitting
    PDF downloads through `slots`, and giving them up when their client leaves."""

    def __init__(self, app, *, slots: RenderSlots):
        self.app = app
        self.slots = slots

    async def __call__(self, scope, receive, send):
        extensions = scope.get("extensions", {})
        if scope["type"] != "http" or extensions.get(ROUTING_CONTEXT, {}).get("operation_id") not in RENDER_OPERATIONS:
            return await self.app(scope, receive, send)
        tenant = extensions.get("connexion_context", {}).get("user")
        # A download is a GET: its (empty) body comes first; the next message is the disconnect,
        # whenever the client leaves (or once the answer is complete).
        request = []
        while not request or request[-1].get("more_body", False):
            message = await receive()
            if message["type"] != "http.request":
                self.slots.cancelled(tenant)
                return
            request.append(message)
        left = asyncio.ensure_future(receive())
        admitted = asyncio.ensure_future(self.slots.acquire(tenant))
        try:
            await asyncio.wait({left, admitted}, return_when=asyncio.FIRST_COMPLETED)
            if left.done():  # gone before its turn (or just as it came)
                admitted.cancel()
                await asyncio.gather(admitted, return_exceptions=True)
                if not admitted.cancelled():
                    self.slots.release(tenant)
                self.slots.cancelled(tenant)
                return
        except BaseException:
            left.cancel()
            admitted.cancel()
            raise
        gone = threading.Event()  # read by the render, in its thread
        left.add_done_callback(lambda _: gone.set())
        scope.setdefault("extensions", {})[_CANCEL_KEY] = gone
        answered = False

        async def replaying_receive():
            return request.pop(0) if request else await asyncio.shield(left)

        async def guarded_send(message):
            nonlocal answered
            if gone.is_set() and not answered:
                return  # nobody to answer: the result is dropped
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, replaying_receive, guarded_send)
        finally:
            self.slots.release(tenant)
            if gone.is_set() and not answered:
                self.slots.cancelled(tenant)
            left.cancel()


def cancellation() -> Callable[[], bool] | None:
    """For the handler of a download: a check that is true once its client has left (None outside
    `FairRenders`)."""
    from connexion.context import scope

    gone = scope.get("extensions", {}).get(_CANCEL_KEY)
    return gone.is_set if gone is not None else None
