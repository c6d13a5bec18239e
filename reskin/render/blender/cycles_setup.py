"""Cycles' settings for a shot, its devices as Blender lists them and applying a device choice;
inside the worker process only (imports bpy). The choice itself is
:func:`reskin.render.devices.choose_device`."""

from __future__ import annotations

import bpy

from reskin.render.devices import GPU_BACKENDS, DeviceChoice


def list_devices() -> dict[str, list[dict]]:
    """Cycles' devices per GPU backend built into this Blender: backend -> ``{"id", "name",
    "type"}`` each (the lists hold the CPU too). Leaves the preferences as they were."""
    prefs = bpy.context.preferences.addons["cycles"].preferences
    listed: dict[str, list[dict]] = {}
    was = prefs.compute_device_type
    for backend in GPU_BACKENDS:
        try:
            prefs.compute_device_type = backend
        except TypeError:  # not built into this Blender
            continue
        prefs.refresh_devices()
        listed[backend] = [{"id": d.id, "name": d.name, "type": d.type}
                           for d in prefs.get_devices_for_type(backend)]
    prefs.compute_device_type = was  # listing is not choosing
    return listed


def apply_device(choice: DeviceChoice) -> None:
    """Make ``choice`` Cycles' compute device type, with exactly its devices enabled (the
    scene's ``cycles.device`` is set per shot from ``choice.cycles_device``)."""
    prefs = bpy.context.preferences.addons["cycles"].preferences
    prefs.compute_device_type = choice.compute_type
    if choice.compute_type != "NONE":
        prefs.refresh_devices()
        for d in prefs.get_devices_for_type(choice.compute_type):
            d.use = d.id in choice.device_ids


def apply_cycles(scene, shot: dict, device: DeviceChoice) -> None:
    """Cycles settings of ``shot`` (a plan dict): samples, adaptive sampling, the denoiser,
    on ``device``."""
    cyc = scene.cycles
    cyc.device = device.cycles_device
    cyc.samples = shot["samples"]
    threshold = float(shot.get("noise_threshold", 0.0))
    cyc.use_adaptive_sampling = threshold > 0
    if threshold > 0:
        cyc.adaptive_threshold = threshold
        # Cycles' automatic minimum grows as the threshold falls (tens of samples at 0.05):
        # more than a few-sample render takes, so it would never adapt. Cycles tests
        # convergence only every few samples past the minimum, so it pays from some 32
        # samples up (bench/denoise.py).
        cyc.adaptive_min_samples = max(2, shot["samples"] // 4)
    cyc.use_denoising = bool(shot.get("denoise", False))
    # Blue-noise sampling where the denoiser follows: it spreads a pixel's error evenly over
    # its neighbours, which the denoiser removes best (bench/denoise.py, 1080x1920 crops: +1.0 dB
    # at 1 sample, +0.4 dB at 2). Undenoised frames keep the tabulated Sobol pattern (the
    # 512-sample reference, and 32 raw samples, where blue noise is 0.1 dB worse).
    cyc.sampling_pattern = "BLUE_NOISE" if cyc.use_denoising else "TABULATED_SOBOL"
    if cyc.use_denoising:
        cyc.denoiser = "OPENIMAGEDENOISE"
        cyc.denoising_input_passes = "RGB_ALBEDO_NORMAL"
        cyc.denoising_prefilter = shot.get("denoise_prefilter", "fast").upper()
        # OpenImageDenoise's own quality: "fast" saves a fifth of the denoiser's time and
        # loses up to 1.2 dB at 1 sample; set, not inherited, since the scene outlives shots.
        cyc.denoising_quality = "HIGH"
        if hasattr(cyc, "denoising_use_gpu"):
            cyc.denoising_use_gpu = cyc.device == "GPU"
    cyc.seed = 0
    cyc.max_bounces = 4
    # Keep Cycles' scene (shaders, textures, static geometry's BVH) between frames and shots:
    # only what moved is synchronised again.
    scene.render.use_persistent_data = True
