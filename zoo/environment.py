"""What a result was measured on, stored with every cell."""

from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from pathlib import Path

import torch

import zoo


def resolve_device(name: str, key: str | None = None) -> torch.device:
    """``auto`` picks CUDA when it is usable, else the CPU; ``key`` names a manifest's ``suite.device`` in errors."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from zoo.errors import ZooError

        if key is not None:
            raise ZooError(f'{key}: torch sees no CUDA device here. Set device = "auto" or "cpu", '
                           "or override it with --device cpu")
        raise ZooError("--device cuda: torch sees no CUDA device here; use --device cpu or auto")
    return torch.device(name)


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the zoo source tree, when zoo runs from a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(zoo.__file__).parent, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def describe(device: torch.device) -> dict:
    return {
        "zoo": zoo.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "git_commit": git_commit(),
    }
