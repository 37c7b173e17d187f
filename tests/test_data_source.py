"""Which data a number came from: the data source is part of a cell's identity and shown in its report."""

import hashlib
import json
import shutil

import pytest

from conftest import run_zoo
from zoo import data
from zoo.manifest import load
from zoo.registry import default_registry
from zoo.tasks import cifar10, mnist

MANIFEST = """
[suite]
name = "source"
store = "source.sqlite"
device = "cpu"

[[bench]]
name = "mnist"
task = { name = "mnist" }
model = { name = "lenet", width = 0.5 }
optimizers = [{ name = "guess_check", label = "G&C", target = 2, max_guesses = 50000 }]
[bench.matrix]
n = [2]
"""


def _notes(stdout: str) -> str:
    return " ".join(table["note"] for table in json.loads(stdout))


def test_a_cell_from_the_embedded_subset_is_not_reused_with_a_data_root(tmp_path, shared_data, monkeypatch):
    monkeypatch.delenv("ZOO_DATA_ROOT", raising=False)
    manifest = tmp_path / "source.toml"
    manifest.write_text(MANIFEST)
    embedded = run_zoo("bench", manifest, "--format", "json")
    assert embedded.returncode == 0, embedded.stderr
    assert "1 cells run, 0 already in" in embedded.stderr
    assert "test set: embedded hold-out" in _notes(embedded.stdout) and "test set: official" not in _notes(embedded.stdout)

    official = run_zoo("bench", manifest, "--format", "json", "--data-root", shared_data)
    assert official.returncode == 0, official.stderr
    assert "1 cells run, 0 already in" in official.stderr
    notes = _notes(official.stdout)
    assert "test set: official test set" in notes and "embedded" not in notes and "t10k-images-idx3-ubyte.gz" in notes

    again = run_zoo("bench", manifest, "--format", "json", "--data-root", shared_data)
    assert "0 cells run, 1 already in" in again.stderr and json.loads(again.stdout) == json.loads(official.stdout)

    records = {r["spec"]["data"]["source"]: r for r in _records(tmp_path / "source.sqlite")}
    assert set(records) == {"embedded", "folder"}
    assert records["folder"]["spec"]["data"]["root"] == str(shared_data.resolve())

    report = run_zoo("report", tmp_path / "source.sqlite", "--format", "json")
    assert "official test set" in _notes(report.stdout) and "1 older cells left out" in report.stderr


def _records(path):
    from zoo.store import Store

    store = Store(path, create=False)
    try:
        return store.records()
    finally:
        store.close()


def test_the_data_files_checksum_is_part_of_the_identity(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    shutil.copytree(shared_data / "mnist", root / "mnist")
    manifest = tmp_path / "source.toml"
    manifest.write_text(MANIFEST)
    try:
        first = load(manifest, default_registry(), data_root=str(root)).cells
        subset = root / "mnist" / "mnist_5k_train_subset.csv.gz"
        subset.write_bytes(subset.read_bytes()[:-1])  # another copy of the data, however slightly
        second = load(manifest, default_registry(), data_root=str(root)).cells
    finally:
        data.set_data_root(None)
    assert first[0].data["sha256"] != second[0].data["sha256"] and first[0].id != second[0].id
    assert first[0].rng_seed == second[0].rng_seed  # the same random streams on either copy


def test_checksums_are_computed_once_and_match_the_files(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    files = sorted((shared_data / "mnist").glob("t10k-*"))
    whole = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    assert data.file_digests(files) == whole
    memo = list((tmp_path / "cache" / "digests").iterdir())
    assert len(memo) == 1 and memo[0].read_text() == whole
    memo[0].write_text("f" * 64)  # a second call reads the memo, it does not hash again
    assert data.file_digests(files) == "f" * 64


def test_provenance_names_source_files_and_test_set(shared_data):
    assert mnist.provenance("embedded")["test"].startswith("embedded hold-out")
    try:
        data.set_data_root(shared_data)
        folder = mnist.provenance("auto")
        assert folder["source"] == "folder" and folder["test"] == "official test set"
        assert folder["files"] == ["mnist_5k_train_subset.csv.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
        assert mnist.provenance("torchvision") == {"source": "torchvision", "test": "official test set"}
    finally:
        data.set_data_root(None)
    images = cifar10.provenance(shared_data)
    # the tarball's published checksum (../shared/data/README.md)
    assert images["sha256"] == "45b041e867f5a40f79bfde38d3dd1fd511103d50068c1afecf6445e25234d4db"
    assert images["layout"] == "tarball" and images["test"] == "official test set"


def test_a_folder_source_without_the_data_is_a_manifest_error(tmp_path):
    manifest = tmp_path / "source.toml"
    manifest.write_text(MANIFEST.replace('task = { name = "mnist" }', 'task = { name = "mnist", source = "folder" }'))
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run_zoo("bench", manifest, "--dry-run", "--data-root", empty)
    assert out.returncode == 2 and "bench[0].task" in out.stderr and "no MNIST under data root" in out.stderr
    assert "Traceback" not in out.stderr
