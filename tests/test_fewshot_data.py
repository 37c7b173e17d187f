"""CIFAR-FS, FC100 and mini-ImageNet loaders on small folders in the official release formats.

The real datasets are not available offline; these folders have the same
files and fields (CIFAR-100's Python pickles with the real class names and
superclasses, mini-ImageNet's images/ and split CSVs), with few images.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from zoo import data
from zoo.fewshot.datasets import load_split

SUPERCLASSES = [  # CIFAR-100's coarse classes 0..19 and their fine classes
    "beaver dolphin otter seal whale", "aquarium_fish flatfish ray shark trout", "orchid poppy rose sunflower tulip",
    "bottle bowl can cup plate", "apple mushroom orange pear sweet_pepper", "clock keyboard lamp telephone television",
    "bed chair couch table wardrobe", "bee beetle butterfly caterpillar cockroach", "bear leopard lion tiger wolf",
    "bridge castle house road skyscraper", "cloud forest mountain plain sea", "camel cattle chimpanzee elephant kangaroo",
    "fox porcupine possum raccoon skunk", "crab lobster snail spider worm", "baby boy girl man woman",
    "crocodile dinosaur lizard snake turtle", "hamster mouse rabbit shrew squirrel",
    "maple_tree oak_tree palm_tree pine_tree willow_tree", "bicycle bus motorcycle pickup_truck train",
    "lawn_mower rocket streetcar tank tractor",
]
COARSE = {fine: coarse for coarse, names in enumerate(SUPERCLASSES) for fine in names.split()}
FINE = sorted(COARSE)  # the release lists fine names alphabetically


@pytest.fixture
def cifar_root(tmp_path):
    """A CIFAR-100 release with 3 training and 1 test image per class; each image is filled with its fine label."""
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for part, per_class in (("train", 3), ("test", 1)):
        fine = np.repeat(np.arange(100), per_class)
        batch = {"data": np.repeat(fine.astype(np.uint8)[:, None], 3072, axis=1), "fine_labels": fine.tolist(),
                 "coarse_labels": [COARSE[FINE[f]] for f in fine]}
        (folder / part).write_bytes(pickle.dumps(batch))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": FINE, "coarse_label_names": [f"c{i}" for i in range(20)]}))
    data.set_data_root(tmp_path)
    yield tmp_path
    data.set_data_root(None)


def check_split(image_set, expected_classes):
    assert len(image_set.classes) == expected_classes
    assert np.bincount(image_set.labels).tolist() == [4] * expected_classes  # train and test images pooled
    for i, name in enumerate(image_set.classes):
        assert (image_set.images[image_set.labels == i] == FINE.index(name)).all()


def test_cifar_fs_has_64_16_20_disjoint_classes(cifar_root):
    splits = {s: load_split("cifar_fs", s) for s in ("base", "val", "novel")}
    for split, count in (("base", 64), ("val", 16), ("novel", 20)):
        check_split(splits[split], count)
    names = [set(s.classes) for s in splits.values()]
    assert set.union(*names) == set(FINE) and sum(map(len, names)) == 100
    assert {"baby", "worm", "whale"} <= names[2] and "otter" in names[1]
    assert splits["base"].images.shape[1:] == (3, 32, 32)


def test_fc100_splits_by_superclass_60_20_20(cifar_root):
    splits = {s: load_split("fc100", s) for s in ("base", "val", "novel")}
    for split, count in (("base", 60), ("val", 20), ("novel", 20)):
        check_split(splits[split], count)
    superclasses = {s: {COARSE[n] for n in v.classes} for s, v in splits.items()}
    assert superclasses["novel"] == {0, 7, 12, 14} and superclasses["val"] == {8, 11, 13, 16}
    assert len(superclasses["base"]) == 12


def test_cifar_images_resize_on_request(cifar_root):
    assert load_split("cifar_fs", "novel", image_size=40).images.shape[1:] == (3, 40, 40)


def test_cifar_without_data_names_the_fix(tmp_path):
    data.set_data_root(tmp_path)
    try:
        with pytest.raises(FileNotFoundError, match="download = true"):
            load_split("fc100", "val")
    finally:
        data.set_data_root(None)


def test_miniimagenet_reads_images_and_split_csvs(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "miniimagenet"
    (folder / "images").mkdir(parents=True)
    splits = {"train.csv": ["n01", "n02", "n03"], "val.csv": ["n04", "n05"], "test.csv": ["n06", "n07"]}
    for csv_name, wnids in splits.items():
        rows = ["filename,label"]
        for k, wnid in enumerate(wnids):
            for j in range(4):
                name = f"{wnid}{j:08d}.jpg"
                Image.new("RGB", (50, 40), (40 * (k + 1), 0, 200)).save(folder / "images" / name)
                rows.append(f"{name},{wnid}")
        (folder / csv_name).write_text("\n".join(rows) + "\n")
    data.set_data_root(tmp_path)
    try:
        novel = load_split("miniimagenet", "novel", image_size=16)
        assert novel.classes == ("n06", "n07") and novel.images.shape == (8, 3, 16, 16)
        assert np.bincount(novel.labels).tolist() == [4, 4]
        red = novel.images[:, 0].mean(axis=(1, 2))
        assert np.allclose(red[novel.labels == 0], 40, atol=3) and np.allclose(red[novel.labels == 1], 80, atol=3)
        assert len(load_split("miniimagenet", "base", image_size=16).classes) == 3
        assert any((tmp_path / "cache").glob("miniimagenet-novel-16-*.npz"))
    finally:
        data.set_data_root(None)
