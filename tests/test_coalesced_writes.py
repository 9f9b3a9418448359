"""mock_server/cli.py's `CoalescedWrites`: the writes of one turn of the event loop reach the
connection's transport as one write, in order; nothing big waits; a close sends what waits first;
a connection already closing gets nothing more. And a real server answers through it whole."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from mock_server.cli import CoalescedWrites

HOLD = 64 * 1024


class Transport:
    """What the transport was given, write by write."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.closing = False
        self.paused = False

    def write(self, data: bytes) -> None:
        assert not self.closing, "a write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        self.paused = True


async def one_turn() -> None:
    await asyncio.sleep(0)


def run(scenario):
    transport = Transport()

    async def main():
        await scenario(CoalescedWrites(transport, asyncio.get_running_loop(), HOLD), transport)

    asyncio.run(main())
    return transport


def test_a_head_and_its_body_go_out_as_one_write():
    async def scenario(writes, transport):
        writes.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        writes.write(b"{}")
        assert transport.writes == []  # held until the loop's turn ends
        await one_turn()
        assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        writes.write(b"next answer")
        await one_turn()

    assert run(scenario).writes[-1] == b"next answer"


def test_nothing_big_waits_and_the_order_is_kept():
    big = b"x" * HOLD

    async def scenario(writes, transport):
        writes.write(big)  # at once
        assert transport.writes == [big]
        writes.write(b"head")
        writes.write(big)  # what waited goes with it, first
        assert transport.writes == [big, b"head" + big]
        writes.write(b"a")
        writes.write(b"b")
        await one_turn()
        assert transport.writes == [big, b"head" + big, b"ab"]

    run(scenario)


def test_a_close_sends_what_waits_first_and_a_closing_connection_gets_nothing_more():
    async def scenario(writes, transport):
        writes.write(b"last answer")
        writes.close()
        assert transport.writes == [b"last answer"] and transport.closing
        writes.write(b"after the close")
        await one_turn()
        assert transport.writes == [b"last answer"]

    run(scenario)


def test_the_rest_of_the_transport_is_the_transports():
    async def scenario(writes, transport):
        writes.pause_reading()
        assert transport.paused and not writes.is_closing()

    run(scenario)


@pytest.mark.slow
def test_a_real_server_answers_whole_on_a_kept_alive_connection(module_server):
    """Three requests on one connection, each answer read whole (head, then exactly its
    content-length), the last a long list: the coalesced writes keep every byte in order."""
    host, port = "127.0.0.1", module_server.port
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        stream = conn.makefile("rb")
        for path in ("/v1/Customers/1", "/v1/Products?PageSize=5", "/v1/Customers?PageSize=100"):
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-KEY: altoviz-sandbox-key\r\n\r\n".encode())
            status = stream.readline()
            headers = {}
            while (line := stream.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200"), (path, status)
            assert json.loads(body), path
