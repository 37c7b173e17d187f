"""Shared fixtures: the offline data folder beside the repository, and small manifests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import zoo  # noqa: F401  (before torch: zoo sets how OpenMP threads wait, which torch's runtime reads once)
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(autouse=True)
def no_data_root_left_behind():
    """A data root set in this process (by the CLI or a manifest run in-process) ends with the test that set it."""
    from zoo import data

    yield
    data.set_data_root(None)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.fail(f"offline data not found at {SHARED_DATA}; tests expect ../shared/data beside the repository")
    return SHARED_DATA


@pytest.fixture
def mnist_root(shared_data):
    """Point the data root at the shared MNIST files for the duration of a test."""
    from zoo import data

    data.set_data_root(shared_data)
    yield shared_data
    data.set_data_root(None)


def run_zoo(*args, cwd=None, env=None, timeout=600) -> subprocess.CompletedProcess:
    """Run the real command line in a fresh interpreter."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "zoo.cli", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
