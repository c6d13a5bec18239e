from __future__ import annotations

import io

import numpy as np
from click.testing import CliRunner
from PIL import Image

from reskin.assets.arrays import pack_arrays
from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.assets.library import Library
from reskin.cli import main
from reskin.render.thumbnails import BACKGROUND, thumbnail


def test_thumbnails_show_the_asset_and_are_drawn_once(tmp_path):
    png = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(png, format="PNG")
    with Library(tmp_path / ".reskin", create=True) as lib:
        body = lib.add("lin", "character", {"mesh.npz": pack_arrays(
            generate_humanoid(HumanoidParams(voxels_per_height=60)).to_arrays())})
        tex = lib.add("brick", "texture", {"image.png": png.getvalue()})
        clip = lib.add("walk", "clip", {"clip.npz": pack_arrays({"x": np.zeros(1)})})
        first = thumbnail(lib, body, 64)
        stamp = first.stat().st_mtime_ns
        assert thumbnail(lib, body, 64).stat().st_mtime_ns == stamp  # cached, not redrawn
        img = np.asarray(Image.open(first)).astype(int)
        centre = img[16:48, 16:48]
        assert (np.abs(centre - BACKGROUND).max(axis=-1) > 30).mean() > 0.1  # the body
        assert (np.abs(img[:4, :4] - BACKGROUND).max(axis=-1) < 3).all()  # empty corner
        red = np.asarray(Image.open(thumbnail(lib, tex, 64)))
        assert (red[32, 32] == [200, 30, 30]).all()
        assert thumbnail(lib, clip, 64).exists()
    result = CliRunner().invoke(main, ["asset", "sheet", "-s", str(tmp_path), "-o",
                                       str(tmp_path / "sheet.png")])
    assert result.exit_code == 0, result.output
    assert "3 assets drawn" in result.output
    assert Image.open(tmp_path / "sheet.png").size[0] > 3 * 192
