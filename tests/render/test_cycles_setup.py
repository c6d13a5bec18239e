"""Cycles' settings per shot (reskin.render.blender.cycles_setup), read back from a real bpy
scene in a subprocess (bpy only in the worker's kind of process): a denoised shot samples with
blue noise, a noisy one (the 512-sample reference, today's 32 raw samples) with tabulated
Sobol, whichever shot came before it in the same scene."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import bpy
from reskin.render.blender.cycles_setup import apply_cycles
from reskin.render.devices import DeviceChoice

scene = bpy.context.scene
out = []
for shot in json.loads(sys.argv[1]):
    apply_cycles(scene, shot, DeviceChoice("NONE", ()))
    c = scene.cycles
    out.append({"samples": c.samples, "pattern": c.sampling_pattern,
                "denoise": c.use_denoising, "quality": c.denoising_quality,
                "prefilter": c.denoising_prefilter, "adaptive": c.use_adaptive_sampling,
                "bounces": c.max_bounces})
print("RESULT" + json.dumps(out))
"""


def applied(shots: list[dict]) -> list[dict]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(shots)], check=True,
                          capture_output=True, text=True, timeout=120)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])


def test_denoised_shots_sample_with_blue_noise_and_noisy_ones_keep_sobol():
    denoised = {"samples": 1, "denoise": True, "denoise_prefilter": "fast",
                "noise_threshold": 0.01}
    reference = {"samples": 512, "denoise": False, "noise_threshold": 0.0}
    today = {"samples": 32, "denoise": False, "noise_threshold": 0.0}
    first, ref, again, raw = applied([denoised, reference, denoised, today])
    for d in (first, again):
        assert d["pattern"] == "BLUE_NOISE" and d["denoise"] and d["quality"] == "HIGH"
        assert d["prefilter"] == "FAST" and d["samples"] == 1
    for n in (ref, raw):  # not left over from the denoised shot before
        assert n["pattern"] == "TABULATED_SOBOL" and not n["denoise"] and not n["adaptive"]
    assert ref["samples"] == 512 and raw["samples"] == 32
    assert {d["bounces"] for d in (first, ref, again, raw)} == {4}  # the scene's light paths
