"""Stable hashes of plain data, used as cache keys for every derived thing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__array__": hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest(),
                "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    if hasattr(obj, "__fspath__"):
        return str(obj)
    raise TypeError(f"cannot hash {type(obj).__name__}")


def stable_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_default)


def key_of(*parts: Any) -> str:
    """SHA-256 hex of the canonical JSON of ``parts``."""
    return hashlib.sha256(stable_json(parts).encode()).hexdigest()
