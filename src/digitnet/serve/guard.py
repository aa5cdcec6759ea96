"""What every request must show and every reply carries: the server's security posture.

``Guard`` wraps the web app (ASGI middleware):

- **Host check** (DNS rebinding): a page on ``evil.example`` whose name is made to resolve to
  127.0.0.1 reaches this server with ``Host: evil.example``. Only ``localhost`` names, IP
  literals (which no rebinding can produce) and the names given with ``--host`` and
  ``--allow-host`` are served; any other Host gets 400.
- **Cross-site requests**: a POST whose ``Sec-Fetch-Site`` is neither ``same-origin`` nor
  ``none``, or whose ``Origin`` is not this server, gets 403, so another site open in the
  browser cannot make it read images.
- **Reply headers**: ``Content-Security-Policy`` (only this server's own scripts, styles and
  images; no frames), ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer`` on every reply.
"""

import ipaddress
from urllib.parse import urlsplit

import orjson

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE_FETCHES = frozenset({b"same-origin", b"none"})  # "none": typed in the address bar, a bookmark
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
REPLY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


def host_name(host_header: str) -> str:
    """The name in a Host header, lower case, without its port or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_allowed_host(name: str, allowed_names: frozenset[str]) -> bool:
    """True for localhost names, IP literals and ``allowed_names``: the Hosts no DNS rebinding makes."""
    if name in LOCAL_NAMES or name in allowed_names or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware: refuses foreign Hosts (400) and cross-site writes (403), and adds
    ``REPLY_HEADERS`` to every reply of ``app``. ``allowed_hosts``: more names to serve."""

    def __init__(self, app, allowed_hosts=()):
        self.app = app
        self.allowed_names = frozenset(name.lower() for name in allowed_hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        refusal = self.refusal(scope["method"], headers)
        if refusal:
            return await _reply(send, *refusal)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *REPLY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def refusal(self, method: str, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        """(status, reason) to refuse a request with these headers, or None to serve it."""
        host = headers.get(b"host", b"").decode("latin-1")
        if not is_allowed_host(host_name(host), self.allowed_names):
            return 400, (f"this server does not answer to the host name {host_name(host)[:100]!r}; "
                         "start it with --allow-host NAME to allow it")
        if method in SAFE_METHODS:
            return None
        fetch_site = headers.get(b"sec-fetch-site")
        if fetch_site is not None and fetch_site not in SAME_SITE_FETCHES:
            return 403, "cross-site requests are refused: use the page this server serves"
        origin = headers.get(b"origin")
        if origin is not None and urlsplit(origin.decode("latin-1")).netloc.lower() != host.lower():
            return 403, "requests from another origin are refused: use the page this server serves"
        return None


async def _reply(send, status: int, detail: str) -> None:
    body = orjson.dumps({"detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *REPLY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
