"""What the dashboard says about this installation: device, worker, where runs are tracked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceStatus:
    gpu: bool
    message: str


def device_status() -> DeviceStatus:
    """The GPU training will use, or a plain warning that there is none."""
    import torch

    if torch.cuda.is_available():
        names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
        count = torch.cuda.device_count()
        return DeviceStatus(
            True, f"GPU: {', '.join(names)}" + (f" (x{count})" if count > 1 else "")
        )
    return DeviceStatus(
        False,
        "CPU only: no GPU found. Tables train fine on a CPU; large image or text runs are slower.",
    )
