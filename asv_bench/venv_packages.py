"""Let asv's benchmark environments see the packages of the virtualenv that asv runs from.

asv builds each commit into an environment of its own, made by virtualenv
from the base interpreter: with ``VIRTUALENV_SYSTEM_SITE_PACKAGES`` it sees
the base interpreter's packages, but not those of an activated virtualenv,
where torch usually lives. ``asv.conf.json`` runs this file in each new
environment after installing zoo: it appends the activated virtualenv's
site-packages (``VIRTUAL_ENV``) to the environment's path with a ``.pth``
file, after the environment's own packages, so the commit's zoo still wins.
Outside a virtualenv it does nothing.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path


def venv_site_packages(venv: str) -> list[str]:
    """The site-packages folders of the virtualenv at ``venv``, for this interpreter's version."""
    purelib = sysconfig.get_path("purelib", vars={"base": venv, "platbase": venv})
    platlib = sysconfig.get_path("platlib", vars={"base": venv, "platbase": venv})
    return [path for path in dict.fromkeys((purelib, platlib)) if Path(path).is_dir()]


def main() -> int:
    venv = os.environ.get("VIRTUAL_ENV")
    own = Path(site.getsitepackages()[0])
    paths = [path for path in venv_site_packages(venv) if Path(path) != own] if venv else []
    (own / "zoo-asv-virtualenv.pth").write_text("".join(f"{path}\n" for path in paths))
    print(f"{own / 'zoo-asv-virtualenv.pth'}: {paths or 'no virtualenv active'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
