"""CIFAR-10 from the real offline tarball (and the other folder layouts), and the ten-class samples of Table 4."""

import io
import pickle
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.data import cache_dir
from zoo.errors import ZooError
from zoo.registry import default_registry
from zoo.tasks import cifar10

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@pytest.fixture
def arrays(mnist_root):
    """The whole data set, decoded from ../shared/data/cifar10-jpeg.tar.gz (once per machine, then cached)."""
    return cifar10.load_arrays(mnist_root, "folder")


def members(root, names):
    """Raw bytes of some images of the real tarball, by member name."""
    with tarfile.open(root / cifar10.TARBALL) as tar:
        return {name: tar.extractfile(name).read() for name in names}


def pil_pixels(blob: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))


def test_reads_the_whole_tarball_with_imagefolder_labels(arrays, mnist_root):
    assert arrays["x_train"].shape == (50_000, 32, 32, 3) and arrays["x_test"].shape == (10_000, 32, 32, 3)
    assert arrays["x_train"].dtype == np.uint8
    assert np.bincount(arrays["y_train"]).tolist() == [5000] * 10 and np.bincount(arrays["y_test"]).tolist() == [1000] * 10
    first = members(mnist_root, ["train/airplane/0000.jpg", "test/truck/0999.jpg"])
    assert np.array_equal(arrays["x_train"][0], pil_pixels(first["train/airplane/0000.jpg"])) and arrays["y_train"][0] == 0
    assert np.array_equal(arrays["x_test"][-1], pil_pixels(first["test/truck/0999.jpg"])) and arrays["y_test"][-1] == 9


def test_channel_statistics_are_the_training_sets(arrays):
    pixels = arrays["x_train"][::7].reshape(-1, 3) / 255.0  # a direct computation on every 7th image
    stats = cifar10.channel_stats(arrays["x_train"][::7])
    assert np.allclose(stats["mean"], pixels.mean(0)) and np.allclose(stats["std"], pixels.std(0))
    assert np.allclose(arrays["mean"], cifar10.channel_stats(arrays["x_train"])["mean"])


def test_second_load_reads_the_decoded_cache(arrays, mnist_root):
    cached = list(cache_dir().glob("cifar10-tarball-*.npz"))
    assert cached, "the first load writes the decoded arrays to the cache"
    cifar10.load_arrays.cache_clear()
    again = cifar10.load_arrays(mnist_root, "folder")
    assert all(np.array_equal(again[k], arrays[k]) for k in arrays)


@pytest.mark.parametrize("task", ["mnist", "cifar10"])
@pytest.mark.parametrize("n", [100, 300, 500, 1000])
def test_ten_class_samples_are_balanced_and_test_on_everything(mnist_root, task, n):
    problem = default_registry().get("task", task).build(classes="all").sample(n, seed=3)
    assert problem.num_classes == 10 and problem.classes == tuple(range(10))
    assert np.bincount(problem.y_train.numpy(), minlength=10).tolist() == [n // 10] * 10
    assert len(problem.y_test) == 10_000 and problem.x_train.is_contiguous()


def test_cifar_problems_are_normalized_and_fit_lenet(mnist_root):
    task = default_registry().get("task", "cifar10").build(classes="all")
    problem = task.sample(100, seed=0)
    assert problem.input_shape == (3, 32, 32)
    per_channel = problem.x_test.transpose(0, 1).flatten(1)
    assert per_channel.mean(1).abs().max() < 0.05 and (per_channel.std(1) - 1).abs().max() < 0.05
    again, other = task.sample(100, seed=0), task.sample(100, seed=1)
    assert torch.equal(problem.x_train, again.x_train) and not torch.equal(problem.x_train, other.x_train)
    lenet = default_registry().get("model", "lenet").build(input_shape=(3, 32, 32), num_classes=10, width=1.0)
    assert lenet.forward(lenet.init_default(2), problem.x_train).shape == (2, 100, 10)


def test_pairs_draw_two_classes_and_test_on_both(mnist_root):
    problem = cifar10.CIFAR10("pair").sample(8, seed=5)
    assert len(problem.classes) == 2 and np.bincount(problem.y_train.numpy()).tolist() == [4, 4]
    assert len(problem.y_test) == 2000


def test_an_unpacked_imagefolder_tree(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    names = [f"{split}/{cls}/{i:04d}.jpg" for split in ("train", "test") for cls in ("bird", "cat", "airplane") for i in range(2)]
    blobs = members(mnist_root, names)
    for name, blob in blobs.items():
        (tmp_path / "cifar10" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cifar10" / name).write_bytes(blob)
    assert cifar10.find_layout(tmp_path) == ("tree", tmp_path / "cifar10")
    arrays = cifar10.load_arrays(tmp_path, "folder")
    assert arrays["y_train"].tolist() == [0, 0, 1, 1, 2, 2]  # airplane, bird, cat: sorted folder names
    assert np.array_equal(arrays["x_test"][2], pil_pixels(blobs["test/bird/0000.jpg"]))


def test_torchvision_pickles(arrays, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / cifar10.PICKLES
    folder.mkdir()
    picks = {f"data_batch_{i}": slice(2 * i, 2 * i + 2) for i in range(1, 6)}
    for name, rows in picks.items():
        batch = {b"data": arrays["x_train"][rows].transpose(0, 3, 1, 2).reshape(2, -1), b"labels": arrays["y_train"][rows].tolist()}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": arrays["x_test"][:3].transpose(0, 3, 1, 2).reshape(3, -1),
                                                      b"labels": arrays["y_test"][:3].tolist()}))
    loaded = cifar10.load_arrays(tmp_path, "folder")
    assert np.array_equal(loaded["x_train"], arrays["x_train"][2:12]) and np.array_equal(loaded["y_train"], arrays["y_train"][2:12])
    assert np.array_equal(loaded["x_test"], arrays["x_test"][:3])


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(ZooError, match="no CIFAR-10 under data root"):
        cifar10.load_arrays(tmp_path, "folder")
    with pytest.raises(ZooError, match="download = true"):
        cifar10.load_arrays(tmp_path, "auto")
