"""Executors run render jobs (a shot's missing frames) on Blender workers: locally or on Ray.

A job is plain data: the shot plan plus its output folder and the frames to render. Every
executor writes the same files (each frame renamed into place when whole), so any mix of
executors, retries and resumes produces the same cache.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reskin.core.errors import ReskinError
from reskin.render.devices import ray_gpus

Progress = Callable[[str, int], None]
"""progress(shot name, frames finished since the last call)"""


class Executor(Protocol):
    def run(self, jobs: Sequence[RenderJob], progress: Progress | None = None) -> None:
        """Render every job's frames; return when all are on disk, or raise."""
        ...


@dataclass(frozen=True)
class RenderJob:
    shot: dict
    """The shot plan as a dict (ShotPlan.to_dict()) with "out_dir" and "frames" added."""

    @property
    def name(self) -> str:
        return self.shot["name"]

    def chunks(self, size: int) -> list[RenderJob]:
        frames = self.shot["frames"]
        return [RenderJob(self.shot | {"frames": frames[i:i + size]})
                for i in range(0, len(frames), size)]


class LocalExecutor:
    """``jobs`` Blender worker processes on this machine, fed from one queue of shots."""

    def __init__(self, log_dir: Path, jobs: int = 1):
        if jobs < 1:
            raise ReskinError(f"--jobs must be at least 1, got {jobs}")
        self.log_dir = Path(log_dir)
        self.jobs = jobs

    def run(self, jobs: Sequence[RenderJob], progress: Progress | None = None) -> None:
        from reskin.render.blender.client import BlenderWorker

        if not jobs:
            return
        todo: queue.Queue[RenderJob] = queue.Queue()
        for job in jobs:
            todo.put(job)
        errors: list[BaseException] = []

        def work(slot: int) -> None:
            try:
                with BlenderWorker(self.log_dir / f"blender-{slot}.log") as worker:
                    while not errors:
                        try:
                            job = todo.get_nowait()
                        except queue.Empty:
                            return
                        worker.render_shot(job.shot, progress=(
                            (lambda n, of, name=job.name: progress(name, 1)) if progress else None
                        ))
            except BaseException as exc:  # surfaced in the calling thread below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,), daemon=True)
                   for i in range(min(self.jobs, len(jobs)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]


class RayExecutor:
    """Shot chunks as tasks on long-lived Blender actors of a Ray cluster.

    Each actor holds one worker process (bpy imported once) and the characters it has loaded.
    Actors restart when they die and their in-flight chunk is retried (on the restarted actor or
    another one); frames already renamed into place are not rendered again. Output folders must
    be on storage every node sees (a shared file system on a farm; the same disk locally).
    """

    def __init__(self, log_dir: Path, *, address: str | None = None, workers: int | None = None,
                 chunk_frames: int = 8, gpus_per_worker: float | None = None):
        self.log_dir = Path(log_dir)
        self.address = address
        self.workers = workers
        self.chunk_frames = chunk_frames
        self.gpus_per_worker = gpus_per_worker

    def run(self, jobs: Sequence[RenderJob], progress: Progress | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ReskinError(
                "Ray is not installed; install it with: pip install 'reskin[farm]'") from None
        if not jobs:
            return
        if not ray.is_initialized():
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        resources = ray.cluster_resources()
        # A GPU per actor where the cluster has them: the worker's Cycles then picks it
        # (reskin.render.devices.choose_device sees only the GPU Ray assigned).
        gpus = ray_gpus(resources, self.gpus_per_worker)
        count = self.workers or max(1, int(resources.get("CPU", 1)) // 2)
        actor_cls = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=-1,
                               max_task_retries=3)(BlenderActor)
        actors = [actor_cls.remote(str(self.log_dir / f"ray-blender-{i}.log"))
                  for i in range(count)]
        chunks = [c for job in jobs for c in job.chunks(self.chunk_frames)]
        pending = {actors[i % count].render.remote(c.shot): c for i, c in enumerate(chunks)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                chunk = pending.pop(done[0])
                ray.get(done[0])
                if progress:
                    progress(chunk.name, len(chunk.shot["frames"]))
        finally:
            for a in actors:
                ray.kill(a)


class BlenderActor:
    """The body of a Ray actor (wrapped with ray.remote by RayExecutor): one Blender worker."""

    def __init__(self, log_path: str):
        from reskin.render.blender.client import BlenderWorker

        self.worker = BlenderWorker(log_path)

    def pid(self) -> int:
        return self.worker.pid

    def render(self, shot: dict) -> dict:
        # After a restart, skip frames a previous incarnation already finished.
        out = Path(shot["out_dir"])
        frames = [f for f in shot["frames"] if not (out / f"beauty_{f:04d}.png").exists()]
        if not frames:
            return {"frames": []}
        return self.worker.render_shot(shot | {"frames": frames})
