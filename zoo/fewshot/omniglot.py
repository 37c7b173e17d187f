"""Omniglot from the two "small background" zips of the author's release.

Together the zips hold 8 alphabets, 242 characters, 20 drawings each (Greek
and Latin are in both zips, byte-identical, and are read once). Classes are
characters; they are split by alphabet so that novel classes come from
scripts the backbone never saw:

- base (153 characters): Balinese, Japanese (katakana), Korean, Sanskrit
- val (17): Tagalog
- novel (72): Early Aramaic, Greek, Latin

Images are 105x105 strokes on white; they are inverted (strokes bright, so
zero padding is background) and box-filtered down to ``image_size``
(28 by default). Decoded arrays are cached under ``zoo.data.cache_dir()``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from zoo.data import cached_arrays, data_root
from zoo.fewshot.images import ImageSet, Source, select_classes

ZIPS = ("images_background_small1.zip", "images_background_small2.zip")
ALPHABETS = {
    "base": ("Balinese", "Japanese_(katakana)", "Korean", "Sanskrit"),
    "val": ("Tagalog",),
    "novel": ("Early_Aramaic", "Greek", "Latin"),
}


def find_zips(root: Path | None) -> list[Path]:
    folders = [] if root is None else [root / "omniglot", root]
    for folder in folders:
        paths = [folder / name for name in ZIPS]
        if all(p.is_file() for p in paths):
            return paths
    raise FileNotFoundError(
        f"no Omniglot under data root {root}: need {' and '.join(ZIPS)} in <data root>/omniglot or the data root itself "
        "(set it with --data-root, suite.data_root or ZOO_DATA_ROOT)"
    )


def decode(zips: list[Path], image_size: int) -> dict[str, np.ndarray]:
    """Every distinct drawing, labelled by its ``Alphabet/characterNN``."""
    drawings: dict[tuple[str, str], bytes] = {}
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                parts = member.split("/")
                if len(parts) == 4 and parts[3].endswith(".png"):
                    drawings.setdefault((f"{parts[1]}/{parts[2]}", parts[3]), archive.read(member))
    keys = sorted(drawings)
    names = sorted({character for character, _ in keys})
    index = {name: i for i, name in enumerate(names)}
    images = np.empty((len(keys), 1, image_size, image_size), dtype=np.uint8)
    for i, key in enumerate(keys):
        with Image.open(io.BytesIO(drawings[key])) as img:
            small = img.convert("L").resize((image_size, image_size), Image.Resampling.BOX)
        images[i, 0] = 255 - np.asarray(small)
    labels = np.array([index[character] for character, _ in keys], dtype=np.int64)
    return {"images": images, "labels": labels, "names": np.array(names)}


def load(split: str, image_size: int, download: bool = False) -> ImageSet:
    zips = find_zips(data_root())
    arrays = cached_arrays(zips, f"omniglot-{image_size}", lambda: decode(zips, image_size))
    names = [str(n) for n in arrays["names"]]
    keep = [n for n in names if n.split("/")[0] in ALPHABETS[split]]
    return select_classes(arrays["images"], arrays["labels"], names, keep)


SOURCE = Source("omniglot", channels=1, image_size=28, flip=False, load=load)
