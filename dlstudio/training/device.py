"""Pick the device and numeric precision; seed every random source."""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from dlstudio.errors import SpecError


@dataclass(frozen=True)
class DeviceChoice:
    """The device a run trains on, and how (autocast dtype on CUDA)."""

    device: torch.device
    amp_dtype: torch.dtype | None  # None: full fp32

    @property
    def label(self) -> str:
        """Human-readable name, logged as tag ``dlstudio.device`` and shown in the UI."""
        if self.device.type == "cuda":
            return f"cuda:{torch.cuda.get_device_name(self.device)}"
        return self.device.type

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision on CUDA; a no-op elsewhere."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)


def choose_device(requested: str = "auto") -> DeviceChoice:
    """CUDA if available, else MPS, else CPU; an explicit request that cannot be met is an error."""
    mps = getattr(torch.backends, "mps", None)
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(mps and mps.is_available()),
        "cpu": True,
    }
    if requested == "auto":
        requested = next(name for name in ("cuda", "mps", "cpu") if available[name])
    elif not available.get(requested, False):
        raise SpecError(
            f"training.device is {requested!r} but no such device is visible on this machine",
            fix="use training.device=auto (GPU when there is one, else CPU) or cpu",
        )
    device = torch.device(requested)
    if device.type != "cuda":
        return DeviceChoice(device, None)
    torch.backends.cudnn.benchmark = True
    # bf16 needs no loss scaling; fp16 (older GPUs) is handled by a GradScaler in the loop.
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return DeviceChoice(device, dtype)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a generator for shuffling."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def configure_threads(threads: int | None = None) -> int:
    """Use ``threads``, else the cores this process may run on (containers often allow fewer
    than the host has)."""
    threads = threads or usable_cores()
    torch.set_num_threads(threads)
    return threads


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)
