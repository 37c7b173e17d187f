"""``zoo speed --device cuda`` on a machine without a GPU: the CUDA-only calls are stood in for, the engines run on
the CPU, and what is checked is the command's own CUDA branch: it accepts the device, waits for the device before
reading a clock where it must, and reports the peak GPU memory of every measurement (reset before each)."""

from __future__ import annotations

import json

import pytest
import torch

from zoo import cli
from zoo.commands import speed

PEAK = 3 * 2**20 + 5


@pytest.fixture
def stand_in_cuda(monkeypatch):
    calls = []
    monkeypatch.setenv("COLUMNS", "250")  # rich's tables: wide enough for every column head
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: calls.append("synchronize"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda *a, **k: calls.append("reset"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a, **k: PEAK)
    monkeypatch.setattr(speed, "tensor_device", lambda name: torch.device("cpu"))  # the engines' tensors stay here
    return calls


def zoo_speed(capsys, *args):
    code = cli.main(["speed", "--device", "cuda", "--seconds", "0.02", "--rounds", "1", *args])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("mode, args, rows", [
    ("guess_check", ["--n", "2", "16"], 2),
    ("search", ["--search", "--optimizer", "pattern_search", "--task", "mnist", "--n", "100"], 1),
    ("sgd", ["--sgd", "--task", "mnist", "--n", "2", "4", "--models", "4"], 2),
])
def test_every_measurement_reports_its_peak_gpu_memory(stand_in_cuda, capsys, shared_data, mode, args, rows):
    code, out = zoo_speed(capsys, *args, "--format", "json", "--data-root", str(shared_data))
    assert code == 0
    report = json.loads(out)
    assert report["device"] == "cuda" and report["peak_gpu_bytes"] == PEAK
    assert [r["peak_gpu_bytes"] for r in report["results"]] == [PEAK] * rows
    assert stand_in_cuda.count("reset") == rows
    synchronized = stand_in_cuda.count("synchronize")
    if mode == "sgd":  # before and after every timed round of every engine: warm-ups, the pilot and the measurement
        assert synchronized == rows * 3 * 3 * 2
    else:
        assert synchronized == 0  # their timed loops end by reading the verdicts back, which waits for the device


def test_the_tables_show_the_peak_column_and_the_overall_peak(stand_in_cuda, capsys, shared_data):
    code, out = zoo_speed(capsys, "--sgd", "--task", "cifar10", "--n", "2", "--models", "4", "--data-root", str(shared_data))
    assert code == 0
    assert "peak GPU MiB" in out and "cuda" in out and "peak GPU memory: 3 MiB" in out


def test_without_cuda_the_command_says_so(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli.main(["speed", "--sgd", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err
