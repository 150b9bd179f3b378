"""The log of one job: its last lines, collected while it trains (dlstudio's messages, warnings).

Both the code that runs a job (:mod:`dlstudio.jobs.execute`) and its progress callback
(:mod:`dlstudio.jobs.progress`) use it, so it lives below both.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

LOG_LINES = 200  # kept in the job's log_tail


class JobLog(logging.Handler):
    """The job's last log lines: dlstudio's own messages and every warning (ours, libraries')."""

    def __init__(self, lines: int = LOG_LINES) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=lines)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        self.addFilter(lambda r: r.name.startswith("dlstudio") or r.levelno >= logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def job_log() -> Iterator[JobLog]:
    """Collect the log of one job (warnings included) while it runs in this process."""
    handler = JobLog()
    root, ours = logging.getLogger(), logging.getLogger("dlstudio")
    level = ours.level
    ours.setLevel(logging.INFO)
    logging.captureWarnings(True)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        logging.captureWarnings(False)
        ours.setLevel(level)
