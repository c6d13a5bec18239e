"""Creating series folders: an empty one (`reskin init`) or the sample (`reskin demo`)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from reskin.assets.library import Library
from reskin.core.errors import ReskinError

SERIES_TEMPLATE = """\
# A reskin series. Episodes live in episodes/, each character in cast/<name>/.
name: {name}
resolution: [1080, 1920]   # width, height: vertical 9:16
fps: 24
render:
  engine: cycles           # cycles | workbench | eevee
  samples: 3               # denoised (denoise: auto): as close to 512 samples as 32 raw, 7x faster
style:
  stylizer: toon           # toon (built in) | none
"""


def init_series(path: str | Path, name: str | None = None) -> Path:
    """Create an empty series at ``path``: series.yaml, cast/, episodes/, .reskin/, out/."""
    root = Path(path)
    if (root / "series.yaml").exists():
        raise ReskinError("a series already exists here", file=root / "series.yaml")
    if root.exists() and any(root.iterdir()):
        raise ReskinError("folder is not empty; choose a new folder for the series", file=root)
    for sub in ("cast", "episodes", "out"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    Library(root / ".reskin", create=True).close()
    (root / "series.yaml").write_text(SERIES_TEMPLATE.format(name=name or root.resolve().name))
    return root


def create_demo(path: str | Path) -> Path:
    """Copy the built-in sample series to ``path`` (kept as it is if it is already there)."""
    root = Path(path)
    if (root / "series.yaml").exists():
        return root
    if root.exists() and any(root.iterdir()):
        raise ReskinError("folder is not empty and holds no series", file=root)
    source = resources.files("reskin") / "data" / "demo"
    with resources.as_file(source) as src:
        shutil.copytree(src, root, dirs_exist_ok=True)
    (root / "out").mkdir(exist_ok=True)
    Library(root / ".reskin", create=True).close()
    return root
