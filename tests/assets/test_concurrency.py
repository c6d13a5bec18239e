"""Several processes at once lose nothing; SIGKILL at any point of an import leaves a library that
fsck finds clean, with the import all there or not there at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from reskin.assets.fsck import fsck
from reskin.assets.importer import import_file
from reskin.assets.library import Library

from .conftest import box_obj

WORKER = textwrap.dedent("""
    import sys
    from reskin.assets.importer import ImportOptions, import_file
    from reskin.assets.library import Library
    root, obj, me, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    for k in range(n):
        import_file(root, obj, "shared", ImportOptions(tags=(f"{me}-{k}",)))
        rec, _ = import_file(root, obj, f"own-{me}")
        with Library(root) as lib:
            lib.tag(rec.ref, f"by-{me}")
            lib.tag("shared@1", f"seen-{me}-{k}")
""")


def test_four_processes_importing_and_tagging_lose_nothing(libroot, tmp_path):
    obj = box_obj(tmp_path / "box.obj")
    n = 3
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(libroot), str(obj), str(i),
                               str(n)], stderr=subprocess.PIPE) for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with Library(libroot) as lib:
        shared = lib.history("shared")
        assert [r.version for r in shared] == list(range(1, 4 * n + 1))  # no gaps, no clashes
        assert {t for r in shared for t in r.tags if t[0].isdigit()} == {
            f"{i}-{k}" for i in range(4) for k in range(n)}
        assert {t for t in lib.get("shared@1").tags if t.startswith("seen-")} == {
            f"seen-{i}-{k}" for i in range(4) for k in range(n)}
        for i in range(4):
            own = lib.history(f"own-{i}")
            assert len(own) == n and all(r.tags == (f"by-{i}",) for r in own)
        assert fsck(lib).clean


CRASHER = textwrap.dedent("""
    import os, signal, sys
    import reskin.assets.library as L
    from reskin.assets.importer import import_file
    root, obj, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    if mode == "mid_blob":  # half of the first blob written to its temporary file
        def write(path, data, fsync=False):
            tmp = path.parent / (".x.tmp" + path.name[:6])
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data[: len(data) // 2])
            die()
        L.write_bytes_atomic = write
    elif mode == "after_blobs":  # every blob stored, catalog not yet touched
        real_add = L.Library.add
        def add(self, name, kind, blobs, **kw):
            for data in blobs.values():
                self.put_blob(data)
            die()
        L.Library.add = add
    elif mode == "at_commit":  # rows inserted inside the transaction, COMMIT never runs
        real_init = L.Library.__init__
        def init(self, *a, **k):
            real_init(self, *a, **k)
            db = self._db
            class Proxy:
                def execute(self, sql, *args):
                    if sql == "COMMIT":
                        die()
                    return db.execute(sql, *args)
                def __getattr__(self, name):
                    return getattr(db, name)
            self._db = Proxy()
        L.Library.__init__ = init
    while True:
        import_file(root, obj, "victim")
""")


@pytest.mark.parametrize("mode", ["mid_blob", "after_blobs", "at_commit", "random"])
def test_sigkill_mid_import_leaves_a_clean_library(libroot, tmp_path, mode):
    obj = box_obj(tmp_path / "box.obj")
    first, _ = import_file(libroot, obj, "victim")
    other = box_obj(tmp_path / "other.obj", size=(1, 3, 1))
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(libroot), str(other),
                             "loop" if mode == "random" else mode], stderr=subprocess.PIPE)
    if mode == "random":
        time.sleep(2.0)  # several imports commit meanwhile; the kill lands somewhere in one
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    with Library(libroot) as lib:
        report = fsck(lib)
        assert report.clean, report.errors
        versions = lib.history("victim")
        if mode != "random":
            assert [r.ref for r in versions] == [first.ref]  # not there at all
        for rec in versions:  # what is there is all there
            for sha in rec.blobs.values():
                assert lib.read_blob(sha)
    assert os.path.exists(libroot / "catalog.sqlite")
