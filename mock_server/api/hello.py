"""/Hello: lets a client check its API key."""

from ._http import domain, host_url, present, tenant_id


def api_key_name(key: str) -> str:
    """How the sandbox names a key: its last four characters at most, and never more than half of
    it, so that a short key (open tenants accept any) is never given back whole."""
    shown = min(4, len(key) // 2)
    return f"Sandbox key …{key[-shown:] if shown else ''}"


def get(api_version=None):
    ctx = domain()
    company = ctx.reference.settings.get("company", {}).get("name")
    return present("Hello", {
        "apiKeyName": api_key_name(tenant_id()),
        "companyName": company,
        "message": f"Hello {company}! Your API key works (Altoviz sandbox).",
        "serverTimestamp": ctx.now_iso(),
        "url": host_url().rstrip("/"),
    })
