"""Cheap argon2 parameters for tests: each hash costs ~0.3 s with the real ones, and the tests
add a few users each. The hashes are still argon2id; production keeps argon2-cffi's defaults."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "dlstudio.auth.accounts._HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
