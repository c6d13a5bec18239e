"""A lazily imported module costs nothing until used, then behaves as the module."""

import subprocess
import sys

from reskin.core.lazy import lazy_module


def test_the_stylizers_do_not_import_scipy_until_they_filter():
    code = ("import sys; import reskin.render.stylize.toon, reskin.render.stylize.controls; "
            "from reskin.render.stylize import make_stylizer; "
            "print('scipy.ndimage' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_lazy_module_is_the_module_once_used():
    import numpy as np

    ndimage = lazy_module("scipy.ndimage")
    assert "not loaded" in repr(ndimage)
    out = ndimage.gaussian_filter(np.eye(5), 1.0)
    from scipy import ndimage as real

    np.testing.assert_array_equal(out, real.gaussian_filter(np.eye(5), 1.0))
    assert "loaded" in repr(ndimage) and "not" not in repr(ndimage)
