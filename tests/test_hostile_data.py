"""Data folders come from strangers: a crafted pickle is refused and nothing it names runs."""

import os
import pickle

import numpy as np
import pytest

from zoo import data
from zoo.data.plain_pickle import load_plain
from zoo.errors import ZooError
from zoo.fewshot.datasets import load_split
from zoo.tasks import cifar10

from conftest import run_zoo


class Payload:
    """Unpickling this with ``pickle.load`` would create ``marker`` through ``os.system``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def malicious_batch(marker) -> bytes:
    return pickle.dumps({b"data": Payload(marker), b"labels": [0, 1]}, protocol=2)


def test_the_payload_is_real(tmp_path):
    """The crafted file does run code under plain pickle.load, so refusing it below means something."""
    marker = tmp_path / "ran"
    pickle.loads(malicious_batch(marker))
    assert marker.exists()


def test_plain_arrays_lists_and_strings_load_in_every_protocol(tmp_path):
    value = {b"data": np.arange(12, dtype=np.uint8).reshape(2, 6), b"labels": [3, 4], b"batch_label": b"training batch 1 of 5",
             "names": ["apple", "bed"], "scalar": np.int64(7)}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"p{protocol}"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        loaded = load_plain(path)
        assert np.array_equal(loaded[b"data"], value[b"data"]) and loaded[b"labels"] == [3, 4]
        assert loaded[b"batch_label"] == value[b"batch_label"] and loaded["names"] == ["apple", "bed"] and loaded["scalar"] == 7


@pytest.mark.parametrize("payload", [
    lambda marker: malicious_batch(marker),
    lambda marker: pickle.dumps({b"data": np.array([Payload(marker)], dtype=object)}, protocol=2),
    lambda marker: b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.",  # hand-written protocol 0
    lambda marker: b"c_codecs\nencode\n(S'x'\nS'" + b"rot13" + b"'\ntR.",
    lambda marker: b"\x80\x02}q\x00(X\x04\x00",  # truncated in the middle of a string
])
def test_crafted_or_damaged_pickles_are_refused_and_run_nothing(tmp_path, payload):
    marker = tmp_path / "ran"
    path = tmp_path / "data_batch_1"
    path.write_bytes(payload(marker))
    with pytest.raises(ZooError, match="data_batch_1: not a plain data pickle"):
        load_plain(path)
    assert not marker.exists()


def test_cifar10_pickles_with_a_payload_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    marker = tmp_path / "ran"
    folder = tmp_path / cifar10.PICKLES
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(malicious_batch(marker))
    with pytest.raises(ZooError, match="refused to load posix.system"):
        cifar10.load_arrays(tmp_path, "folder")
    assert not marker.exists()


def test_cifar100_pickles_with_a_payload_are_refused(tmp_path):
    marker = tmp_path / "ran"
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name in ("train", "test", "meta"):
        (folder / name).write_bytes(malicious_batch(marker))
    data.set_data_root(tmp_path)
    try:
        with pytest.raises(ZooError, match="refused to load"):
            load_split("cifar_fs", "novel")
    finally:
        data.set_data_root(None)
    assert not marker.exists()


def test_bench_on_a_crafted_cifar10_folder_exits_2_before_any_cell(tmp_path):
    marker = tmp_path / "ran"
    root = tmp_path / "data"
    folder = root / cifar10.PICKLES
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(malicious_batch(marker))
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        '[suite]\ndata_root = "data"\n[[bench]]\nname = "c"\ntask = { name = "cifar10" }\nmodel = { name = "linear" }\n'
        'optimizers = [{ name = "guess_check", target = 1, max_guesses = 10 }]\n[bench.matrix]\nn = [2]\n')
    result = run_zoo("bench", manifest, env={"ZOO_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 2, result.stderr
    assert "refused to load posix.system" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()
