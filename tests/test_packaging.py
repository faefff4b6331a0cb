"""setup.cfg installs every package folder and its data files (an editable install would hide a missing one)."""
from __future__ import annotations

import configparser
import fnmatch

from conftest import REPO

ROOTS = {"calibkit": REPO / "calibkit", "calibkit.tasks": REPO / "tasks", "calibkit.human_data": REPO / "human_data"}


def setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return cfg


def package_folders() -> dict[str, object]:
    found = {}
    for name, root in ROOTS.items():
        for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
            if "__pycache__" in folder.parts or not any(folder.glob("*.py")) and folder != root:
                continue
            rel = folder.relative_to(root).parts
            found[".".join([name, *rel])] = folder
    return found


def test_every_package_folder_is_installed():
    listed = {line.strip() for line in setup_cfg()["options"]["packages"].splitlines() if line.strip()}
    assert set(package_folders()) == listed


def test_every_data_file_of_a_package_is_installed():
    data = setup_cfg()["options.package_data"]
    for name, folder in package_folders().items():
        patterns = [p.strip() for p in data.get(name, "").split(",") if p.strip()]
        for path in folder.iterdir():
            if path.is_file() and path.suffix not in (".py", ".pyc"):
                assert any(fnmatch.fnmatch(path.name, p) for p in patterns), f"{path} is not in package_data"
