"""/Hello: lets a client check its API key."""

import flask

from ._http import domain, present, tenant_id


def api_key_name(key: str) -> str:
    """How the sandbox names a key: its last four characters only, never the whole key."""
    return f"Sandbox key …{key[-4:]}"


def get(api_version=None):
    ctx = domain()
    company = ctx.reference.settings.get("company", {}).get("name")
    return present("Hello", {
        "apiKeyName": api_key_name(tenant_id()),
        "companyName": company,
        "message": f"Hello {company}! Your API key works (Altoviz sandbox).",
        "serverTimestamp": ctx.now_iso(),
        "url": flask.request.host_url.rstrip("/"),
    })
