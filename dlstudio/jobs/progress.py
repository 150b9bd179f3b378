"""The callback a job's training runs with: progress into the job row, cancellation out of it."""

from __future__ import annotations

import logging
import time

import mlflow

from dlstudio.jobs.joblog import JobLog
from dlstudio.jobs.store import JobStore, utc_now
from dlstudio.training.callbacks import CancelledByUser
from dlstudio.training.loop import Callback, FitState

CHECK_EVERY_SECONDS = 2.0  # how often a running job looks for a cancel request / heartbeats
log = logging.getLogger("dlstudio.jobs")


class JobProgress(Callback):
    """Writes epoch progress (and the MLflow run id) to the job; stops when cancel is asked."""

    def __init__(
        self, store: JobStore, job_id: str, *, device: str, log: JobLog | None = None
    ) -> None:
        self.store, self.job_id, self.device, self.log = store, job_id, device, log
        self._last_check = time.monotonic()
        self._started = time.monotonic()

    def on_train_begin(self, state: FitState) -> None:
        active = mlflow.active_run()
        self.store.report_progress(
            self.job_id,
            now=utc_now(),
            total_epochs=state.total_epochs,
            device=self.device,
            mlflow_run_id=active.info.run_id if active else None,
        )

    def on_batch_end(self, state: FitState) -> None:
        if time.monotonic() - self._last_check < CHECK_EVERY_SECONDS:
            return  # one clock read per batch; the database only every few seconds
        self._last_check = time.monotonic()
        self._stop_if_cancelled()
        self.store.report_progress(self.job_id, now=utc_now(), step=state.step)

    def on_epoch_end(self, state: FitState) -> None:
        elapsed = time.monotonic() - self._started
        remaining = (state.total_epochs - state.epoch) * elapsed / state.epoch
        shown = ", ".join(f"{k} {v:.4f}" for k, v in list(state.metrics.items())[:4])
        log.info("epoch %d/%d: %s", state.epoch, state.total_epochs, shown)
        self.store.report_progress(
            self.job_id,
            now=utc_now(),
            epoch=state.epoch,
            total_epochs=state.total_epochs,
            metrics=state.metrics,
            eta_seconds=remaining,
            step=state.step,
            log_tail=self.log.text() if self.log else None,
        )
        self._stop_if_cancelled()

    def _stop_if_cancelled(self) -> None:
        if self.store.cancel_requested(self.job_id):
            raise CancelledByUser("cancelled by the user")
