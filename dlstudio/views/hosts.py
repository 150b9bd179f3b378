"""The host names the dashboard answers to: a guard against DNS rebinding.

A web page on another site can point its own host name at 127.0.0.1 and so reach a dashboard
that listens there; the browser then sends that site's name in the ``Host`` header. Streamlit
has no allow-list of its own, so the app checks the header before it shows anything.
"""

from __future__ import annotations

LOOPBACK_HOSTS = "localhost,127.0.0.1,::1"


def host_allowed(host_header: str | None, allowed: str) -> bool:
    """Whether a request sent with ``Host: host_header`` may see the dashboard. ``allowed``:
    comma-separated host names (no ports), or ``*`` for any. A request without the header
    (not a browser) passes."""
    if not host_header or allowed.strip() == "*":
        return True
    names = {name.strip().lower().strip("[]") for name in allowed.split(",") if name.strip()}
    return _host_name(host_header) in names


def _host_name(host_header: str) -> str:
    """``example.com:8501`` -> ``example.com``; ``[::1]:8501`` -> ``::1``."""
    header = host_header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
