"""Which devices Cycles renders on: a GPU (OptiX, else CUDA, HIP, oneAPI, Metal) when one is
present, the CPU otherwise. Pure functions on plain data; the worker lists Blender's devices
and applies the choice (reskin.render.blender.worker), the Ray executor asks for GPUs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")
"""Cycles' compute device types, best first (OptiX: RTX hardware ray tracing on NVIDIA)."""


@dataclass(frozen=True)
class DeviceChoice:
    compute_type: str
    """Cycles' ``compute_device_type``: "NONE" for the CPU, else one of :data:`GPU_BACKENDS`."""
    device_ids: tuple[str, ...]
    """The ids of the devices to enable (Blender's ``device.id``); empty for the CPU."""

    @property
    def cycles_device(self) -> str:
        """The scene's ``cycles.device``: "GPU" or "CPU"."""
        return "CPU" if self.compute_type == "NONE" else "GPU"


def choose_device(devices: Mapping[str, Sequence[Mapping[str, str]]],
                  prefer: str = "auto") -> DeviceChoice:
    """The best backend that lists a GPU, with all its GPUs; the CPU when none does.

    devices: backend ("CUDA", "OPTIX", ...) -> its devices as ``{"id", "name", "type"}``, as
             Cycles lists them per ``compute_device_type`` (each list also holds the CPU, type
             "CPU", which is left out: mixing it in slows a GPU render down).
    prefer:  "auto", "cpu", or a backend name (used when it lists a GPU, else "auto").
    """
    if prefer.lower() == "cpu":
        return DeviceChoice("NONE", ())
    order = list(GPU_BACKENDS)
    if prefer.upper() in order:
        order.remove(prefer.upper())
        order.insert(0, prefer.upper())
    for backend in order:
        gpus = [d for d in devices.get(backend, ()) if d.get("type", backend) != "CPU"]
        if gpus:
            return DeviceChoice(backend, tuple(str(d["id"]) for d in gpus))
    return DeviceChoice("NONE", ())


def ray_gpus(cluster: Mapping[str, float], requested: float | None) -> float:
    """GPUs each Blender actor asks Ray for: ``requested`` if given, else one where the cluster
    has GPUs (Cycles then renders on it), else none."""
    if requested is not None:
        return float(requested)
    return 1.0 if cluster.get("GPU", 0) >= 1 else 0.0
