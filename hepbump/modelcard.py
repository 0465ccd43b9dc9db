"""What every model card of hepbump records about the environment that trained the weights."""

from __future__ import annotations

import platform
import subprocess
from typing import Any

__all__ = ["environment"]


def _lscpu() -> list[str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return [platform.processor() or platform.machine()]
    return out.splitlines()[:10]


def environment(torch_threads: int | None = None) -> dict[str, Any]:
    """``{"versions": {hepbump, torch, numpy, python}, "hardware": {"lscpu": [...], "torch_threads": n}}``."""
    import numpy as np
    import torch

    from hepbump._version import __version__

    return {
        "versions": {
            "hepbump": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "hardware": {"lscpu": _lscpu(), "torch_threads": torch_threads or torch.get_num_threads()},
    }
