"""The training engine: device choice, a plain fit loop with callbacks, and run(spec)."""

from __future__ import annotations

from typing import Any

__all__ = ["RunResult", "run"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the loop does not import every template (and vice versa).
    if name in __all__:
        from dlstudio.training import runner

        return getattr(runner, name)
    raise AttributeError(name)
