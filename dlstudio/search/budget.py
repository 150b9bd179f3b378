"""A search's budget as users write it: "5m", "90s", "1h" (wall time) or "20" (trials)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dlstudio.errors import SpecError

UNITS = {"s": 1, "m": 60, "h": 3600}
_BUDGET = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*([smh]?)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    """Stop after ``seconds`` of wall time or ``trials`` trials, whichever comes first."""

    seconds: float | None = None
    trials: int | None = None

    def __str__(self) -> str:
        if self.trials is not None:
            return f"{self.trials} trials"
        minutes = (self.seconds or 0) / 60
        if minutes >= 1:
            return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
        return f"{self.seconds:g} seconds"


def parse_budget(text: str) -> Budget:
    """``"5m"`` -> 300 seconds, ``"90s"``, ``"1h"``; a bare whole number is a trial count.

    Raises:
        SpecError: not one of those forms, or not above zero.
    """
    found = _BUDGET.fullmatch(str(text))
    if found is None:
        raise SpecError(
            f"The search budget {text!r} is not a time or a number of trials.",
            fix='Write a time such as "5m", "90s" or "1h", or a number of trials such as "20".',
        )
    amount, unit = float(found.group(1)), found.group(2).lower()
    if amount <= 0:
        raise SpecError(
            f"The search budget {text!r} leaves no time for a single trial.",
            fix='Give more than zero, e.g. "5m" or "20".',
        )
    if unit:
        return Budget(seconds=amount * UNITS[unit])
    if amount != int(amount):
        raise SpecError(
            f"The search budget {text!r} is not a whole number of trials.",
            fix='Give a whole number of trials ("20"), or add a unit for a time ("2.5m").',
        )
    return Budget(trials=int(amount))
