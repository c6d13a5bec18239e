"""Cycles' device choice: a GPU when one is listed (OptiX first), the CPU otherwise; Ray's GPU
request per Blender actor."""

from __future__ import annotations

from reskin.render.devices import DeviceChoice, choose_device, ray_gpus

CPU = {"id": "CPU", "name": "AMD EPYC", "type": "CPU"}
H200 = {"id": "CUDA_NVIDIA H200_0000:01:00", "name": "NVIDIA H200", "type": "CUDA"}
H200_OPTIX = {"id": "OPTIX_NVIDIA H200_0000:01:00", "name": "NVIDIA H200", "type": "OPTIX"}


def test_no_gpu_listed_renders_on_the_cpu():
    for listed in ({}, {"CUDA": [CPU], "OPTIX": [CPU], "HIP": []}):
        choice = choose_device(listed)
        assert choice == DeviceChoice("NONE", ()) and choice.cycles_device == "CPU"


def test_optix_is_preferred_and_the_cpu_is_left_out():
    choice = choose_device({"CUDA": [H200, CPU], "OPTIX": [H200_OPTIX, CPU]})
    assert choice.compute_type == "OPTIX" and choice.device_ids == (H200_OPTIX["id"],)
    assert choice.cycles_device == "GPU"
    assert choose_device({"CUDA": [H200, CPU], "OPTIX": [CPU]}).compute_type == "CUDA"
    two = dict(H200, id="CUDA_1")
    assert choose_device({"CUDA": [H200, two, CPU]}).device_ids == (H200["id"], "CUDA_1")


def test_a_preference_picks_the_backend_or_the_cpu():
    listed = {"CUDA": [H200, CPU], "OPTIX": [H200_OPTIX, CPU]}
    assert choose_device(listed, "cuda").compute_type == "CUDA"
    assert choose_device(listed, "cpu").cycles_device == "CPU"
    assert choose_device({"CUDA": [H200]}, "optix").compute_type == "CUDA"  # not listed: auto


def test_ray_asks_for_a_gpu_per_actor_only_where_the_cluster_has_them():
    assert ray_gpus({"CPU": 16.0, "GPU": 1.0}, None) == 1.0
    assert ray_gpus({"CPU": 2.0}, None) == 0.0
    assert ray_gpus({"CPU": 16.0, "GPU": 8.0}, 0.5) == 0.5


def test_the_worker_renders_on_what_choose_device_picks_from_its_list(tmp_path):
    from reskin.render.blender.client import BlenderWorker

    with BlenderWorker(tmp_path / "w.log") as worker:
        seen = worker.devices()
    choice = choose_device(seen["listed"])
    assert seen["compute_type"] == choice.compute_type
    assert seen["cycles_device"] == choice.cycles_device
    gpus = [d for ds in seen["listed"].values() for d in ds if d["type"] != "CPU"]
    # On a machine without a GPU (this one) that is the CPU.
    assert seen["cycles_device"] == ("GPU" if gpus else "CPU")
