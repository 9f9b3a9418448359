"""Testing a user's webhook receiver: sample events aimed at a resource with field overrides, and
delivery faults (duplicate, bad signature, delay, out of order) per trigger and per webhook, each
marked in the delivery log. Real deliveries to a real receiver on 127.0.0.1; every wait polls with
a deadline.
"""

from __future__ import annotations

import json
import re

import pytest

from mock_server import cli
from mock_server.app import create_app
from mock_server.config import Config

from test_webhooks import KEY, Receiver, register, settle, signature, wait_until
from test_webhooks import config, receiver  # noqa: F401 - fixtures: short retries, a receiver

from conftest import services

SECRET = "whsec_receiver"


def trigger(client, **body):
    response = client.post("/_mock/webhooks/trigger", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def log(client, **params) -> list[dict]:
    return client.get("/_mock/webhooks/deliveries", params=params).json()


def verifies(request: dict, secret: str = SECRET) -> bool:
    """What a receiver checks: the X-Signature is the HMAC of the raw body under the secret."""
    return request["headers"].get("X-Signature") == signature(secret, request["body"])


# --- aimed at a resource, with overrides ------------------------------------------------------------

def test_trigger_aims_at_a_resource_and_overrides_fields_of_the_event_sent(app, client, receiver):
    register(client, f"{receiver.url}/aim", ["CustomerUpdated"])
    customers = client.get("/v1/Customers").json()
    chosen = customers[2]  # not the latest: what the trigger sends without an id
    body = trigger(client, type="CustomerUpdated", id=chosen["id"],
                   set={"data.name": "ACME", "data.billingAddress.city": "Lyon", "data.extra.note": 1})
    event = wait_until(lambda: receiver.events("/aim"), what="the event")[0]
    assert event["id"] == body["eventId"] and event["data"]["id"] == chosen["id"]
    assert event["data"]["name"] == "ACME" and event["data"]["billingAddress"]["city"] == "Lyon"
    assert event["data"]["extra"] == {"note": 1}
    assert event["data"]["email"] == chosen["email"]  # the rest as GET answers it
    assert client.get(f"/v1/Customers/{chosen['id']}").json() == chosen  # nothing changed

    missing = client.post("/_mock/webhooks/trigger", json={"type": "CustomerUpdated", "id": 99999})
    assert missing.status_code == 404 and missing.json()["detail"] == "No Customer 99999 in this tenant"
    for bad in ({"id": "3"}, {"set": {"id": "evt_x"}}, {"set": {"data.name.first": "x"}}, {"set": []},
                {"type": []}, {"duplicate": "yes"}, {"delay": 601}, {"colour": "red"}):
        answer = client.post("/_mock/webhooks/trigger", json={"type": "CustomerUpdated", **bad})
        assert answer.status_code == 400, (bad, answer.text)
    settle(app)
    assert len(receiver.at("/aim")) == 1


# --- the faults, per trigger ------------------------------------------------------------------------

def test_duplicate_delivers_the_same_event_twice_and_marks_the_copy(app, client, receiver):
    register(client, f"{receiver.url}/dup", ["InvoiceCreated"], secret=SECRET)
    body = trigger(client, type="InvoiceCreated", duplicate=True)
    assert [d["faults"] for d in body["deliveries"]] == [[], ["duplicate"]]
    first, second = wait_until(lambda: receiver.at("/dup")[1:] and receiver.at("/dup"), what="two deliveries")
    assert first["body"] == second["body"] and json.loads(first["body"])["id"] == body["eventId"]
    assert verifies(first) and verifies(second)
    settle(app)
    assert [a["fault"] for a in log(client, eventId=body["eventId"])] == [None, ["duplicate"]]


def test_a_bad_signature_is_present_well_formed_and_fails_verification(app, client, receiver):
    receiver.plan["/sig"] = [401, 401]  # a receiver that rejects what does not verify (the sandbox retries)
    register(client, f"{receiver.url}/sig", ["CustomerUpdated"], secret=SECRET)
    body = trigger(client, type="CustomerUpdated", badSignature=True)
    settle(app)
    requests = receiver.at("/sig")
    assert len(requests) == 3  # the test config's three attempts, all with the wrong signature
    for request in requests:
        assert re.fullmatch(r"[0-9a-f]{64}", request["headers"]["X-Signature"]) and not verifies(request)
    attempts = log(client, eventId=body["eventId"])
    assert [a["fault"] for a in attempts] == [["bad-signature"]] * 3
    assert [a["statusCode"] for a in attempts] == [401, 401, 200]
    # Without the fault the same webhook gets the right one.
    trigger(client, type="CustomerUpdated")
    wait_until(lambda: len(receiver.at("/sig")) == 4, what="the plain delivery")
    assert verifies(receiver.at("/sig")[3])


def test_out_of_order_delivers_a_triggers_events_newest_first(app, client, receiver):
    register(client, f"{receiver.url}/ooo", ["InvoiceCreated", "InvoiceUpdated", "InvoiceDeleted"])
    types = ["InvoiceCreated", "InvoiceUpdated", "InvoiceDeleted"]
    in_order = trigger(client, type=types)
    wait_until(lambda: len(receiver.events("/ooo")) == 3, what="the batch in order")
    reversed_ = trigger(client, type=types, outOfOrder=True)
    wait_until(lambda: len(receiver.events("/ooo")) == 6, what="the batch out of order")
    events = receiver.events("/ooo")
    assert [e["type"] for e in events[:3]] == types
    assert [e["type"] for e in events[3:]] == types[::-1]
    assert [e["id"] for e in events[3:]] == [e["eventId"] for e in reversed_["events"]][::-1]
    settle(app)
    marks = {a["eventId"]: a["fault"] for a in log(client)}
    assert all(marks[e["eventId"]] is None for e in in_order["events"])
    assert all(marks[e["eventId"]] == ["out-of-order"] for e in reversed_["events"])


# --- the faults, per webhook ------------------------------------------------------------------------

def test_a_webhooks_out_of_order_window_reverses_the_api_s_own_events(app, client, receiver):
    hook = register(client, f"{receiver.url}/win", ["CustomerCreated", "CustomerUpdated"])
    hook_id = client.get("/v1/Webhooks").json()[-1]["id"]
    assert hook["url"].endswith("/win")
    setting = client.put(f"/_mock/webhooks/{hook_id}/faults", json={"outOfOrder": True, "outOfOrderWindow": 1})
    assert setting.status_code == 200 and setting.json()["outOfOrder"] is True
    created = client.post("/v1/Customers", json={"companyName": "Désordre SARL"}).json()
    client.put(f"/v1/Customers/{created['id']}", json={"companyName": "Désordre SA"})
    wait_until(lambda: len(receiver.events("/win")) == 2, what="the window's batch")
    events = receiver.events("/win")
    assert [e["type"] for e in events] == ["CustomerUpdated", "CustomerCreated"]
    assert [e["data"]["companyName"] for e in events] == ["Désordre SA", "Désordre SARL"]
    settle(app)
    assert {tuple(a["fault"]) for a in log(client, webhookId=hook_id)} == {("out-of-order",)}


def test_a_delayed_webhook_never_holds_up_other_deliveries(app, client, receiver):
    slow = register(client, f"{receiver.url}/slow", ["ProductCreated"])
    register(client, f"{receiver.url}/fast", ["ProductCreated"])
    slow_id, fast_id = [w["id"] for w in client.get("/v1/Webhooks").json()]
    assert slow["url"].endswith("/slow")
    assert client.put(f"/_mock/webhooks/{slow_id}/faults", json={"delay": 600}).status_code == 200
    body = trigger(client, type="ProductCreated")
    delayed = next(d for d in body["deliveries"] if d["webhookId"] == slow_id)
    assert delayed["faults"] == ["delay"]
    assert _seconds_between(delayed["createdAt"], delayed["nextAttemptAt"]) == 600
    wait_until(lambda: receiver.events("/fast"), what="the other webhook's delivery")
    # The receiver has it a moment before the sandbox records the answer: bounded wait for that.
    wait_until(lambda: [d["webhookId"] for d in client.get("/_mock/webhooks/pending").json()] == [slow_id],
               what="only the delayed delivery pending")
    assert receiver.at("/slow") == []
    assert [a["webhookId"] for a in log(client)] == [fast_id]


def test_the_delay_of_a_trigger_marks_the_first_attempt_only(app, client, receiver):
    receiver.plan["/late"] = [500]
    register(client, f"{receiver.url}/late", ["QuoteUpdated"])
    body = trigger(client, type="QuoteUpdated", delay=0.1)
    settle(app)
    assert [a["fault"] for a in log(client, eventId=body["eventId"])] == [["delay"], None]


def test_a_webhooks_faults_are_kept_with_the_tenant_and_cleared_by_reset_and_unregistering(tmp_path, receiver):
    config = Config(data_dir=tmp_path / "data", validate_responses=True, webhook_backoff=0.05,
                    webhook_max_attempts=3, webhook_timeout=1.0)
    app = create_app(config)
    with app.test_client(headers={"X-API-KEY": KEY}) as client:
        register(client, f"{receiver.url}/kept", ["CustomerCreated"], secret=SECRET)
        hook_id = client.get("/v1/Webhooks").json()[-1]["id"]
        assert client.get(f"/_mock/webhooks/{hook_id}/faults").json() == {
            "webhookId": hook_id, "duplicate": False, "badSignature": False, "delay": 0, "outOfOrder": False,
            "outOfOrderWindow": 2}
        client.put(f"/_mock/webhooks/{hook_id}/faults", json={"duplicate": True, "badSignature": True})
        for bad in ({"delay": -1}, {"outOfOrderWindow": 0}, {"duplicate": 1}, {"loss": True}):
            assert client.put(f"/_mock/webhooks/{hook_id}/faults", json=bad).status_code == 400, bad
        assert client.get("/_mock/webhooks/999/faults").status_code == 404
    services(app).close()

    app = create_app(config)  # a restart: the setting is part of the tenant's data
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as client:
            setting = client.get(f"/_mock/webhooks/{hook_id}/faults").json()
            assert setting["duplicate"] and setting["badSignature"]
            client.post("/v1/Customers", json={"companyName": "Fautes SARL"})
            wait_until(lambda: len(receiver.at("/kept")) == 2, what="the duplicated, badly signed event")
            assert not any(verifies(r) for r in receiver.at("/kept"))

            client.delete(f"/_mock/webhooks/{hook_id}/faults")
            assert client.get(f"/_mock/webhooks/{hook_id}/faults").json()["duplicate"] is False
            client.put(f"/_mock/webhooks/{hook_id}/faults", json={"duplicate": True})
            assert client.delete(f"/v1/Webhooks?id={hook_id}").status_code == 200
            register(client, f"{receiver.url}/kept", ["CustomerCreated"])
            again = client.get("/v1/Webhooks").json()[-1]["id"]
            assert client.get(f"/_mock/webhooks/{again}/faults").json()["duplicate"] is False

            client.put(f"/_mock/webhooks/{again}/faults", json={"delay": 5})
            client.post("/_mock/reset")
            assert client.get(f"/_mock/webhooks/{again}/faults").status_code == 404  # its webhook is gone too
            register(client, f"{receiver.url}/kept", ["CustomerCreated"])
            fresh = client.get("/v1/Webhooks").json()[-1]["id"]
            assert client.get(f"/_mock/webhooks/{fresh}/faults").json()["delay"] == 0
    finally:
        services(app).close()


def _seconds_between(start: str, end: str) -> float:
    import datetime as dt

    def parse(text):
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds()


# --- the command line against a real server ------------------------------------------------------------

@pytest.mark.slow
def test_the_trigger_command_aims_overrides_and_faults(server_factory, capsys):
    receiver = Receiver()
    server = server_factory("--in-memory")
    try:
        import httpx

        with httpx.Client(base_url=server.url, headers={"X-API-KEY": KEY}, timeout=10, trust_env=False) as c:
            c.post("/v1/Webhooks", json={"name": "cli", "url": f"{receiver.url}/cli", "types": ["CustomerUpdated"],
                                         "secretKey": SECRET})
            chosen = c.get("/v1/Customers").json()[0]
            code = cli.main(["trigger", "CustomerUpdated", "--url", server.url, "--id", str(chosen["id"]),
                             "--set", "data.name=ACME", "--set", "data.active=false", "--set", "data.tags=[1,2]",
                             "--duplicate", "--bad-signature"])
            out = capsys.readouterr().out
            assert code == 0 and "CustomerUpdated event evt_" in out and "faults: bad-signature, duplicate" in out
            first, second = wait_until(lambda: receiver.at("/cli")[1:] and receiver.at("/cli"), what="two deliveries")
            event = json.loads(first["body"])
            assert event["data"]["id"] == chosen["id"] and event["data"]["name"] == "ACME"
            assert event["data"]["active"] is False and event["data"]["tags"] == [1, 2]
            assert second["body"] == first["body"] and not verifies(first) and not verifies(second)

            # The built-in inbox shows both copies of a duplicated event (one message per delivery).
            c.post("/v1/Webhooks", json={"name": "inbox", "url": f"{server.url}/_mock/inbox/dups",
                                         "types": ["QuoteCreated"]})
            assert cli.main(["trigger", "QuoteCreated", "--url", server.url, "--duplicate"]) == 0
            copies = wait_until(lambda: (m := c.get("/_mock/inbox/dups").json())[1:] and m, what="two messages")
            assert copies[0]["body"] == copies[1]["body"] and copies[0]["id"] != copies[1]["id"]

            assert cli.main(["trigger", "CustomerUpdated", "--url", server.url, "--id", "99999"]) == 1
            err = capsys.readouterr().err
            assert err == "altoviz-mock: 404 No Customer 99999 in this tenant\n"
            with pytest.raises(SystemExit) as bad:
                cli.main(["trigger", "CustomerUpdated", "--url", server.url, "--set", "data.name"])
            assert bad.value.code == 2 and "expected PATH=VALUE" in capsys.readouterr().err
    finally:
        receiver.close()


def test_the_dashboards_deliveries_page_shows_the_faults_and_the_signature_sent(app, client, anonymous, receiver):
    register(client, f"{receiver.url}/dash", ["CustomerCreated"], secret=SECRET)
    trigger(client, type="CustomerCreated", badSignature=True)
    settle(app)
    sent = receiver.at("/dash")[0]["headers"]["X-Signature"]
    assert anonymous.post("/_mock/dashboard/login", data={"key": KEY}, follow_redirects=False).status_code == 303
    page = anonymous.get("/_mock/dashboard/deliveries").text
    assert "bad-signature" in page and sent in page  # what was sent, not the right signature
