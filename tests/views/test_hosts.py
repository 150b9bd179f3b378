"""The dashboard answers only to the host names it is configured for (DNS rebinding)."""

from __future__ import annotations

import pytest

from dlstudio.settings import Settings
from dlstudio.views.hosts import host_allowed

DEFAULT = Settings().allowed_hosts


@pytest.mark.parametrize("host", ["localhost:8501", "127.0.0.1:8501", "[::1]:8501", "LOCALHOST"])
def test_the_loopback_names_are_answered_by_default(host: str) -> None:
    assert host_allowed(host, DEFAULT)


@pytest.mark.parametrize(
    "host", ["attacker.example:8501", "127.0.0.1.attacker.example", "localhost.evil:8501"]
)
def test_a_rebound_name_pointing_at_this_machine_is_refused(host: str) -> None:
    assert not host_allowed(host, DEFAULT)


def test_names_added_for_a_team_are_answered_and_a_star_opens_all() -> None:
    assert host_allowed("studio.corp.example:443", f"{DEFAULT},studio.corp.example")
    assert host_allowed("anything.example", "*")
