"""calibkit.files.write_atomic: the one atomic write of run folders and pages."""
import os
import stat

from calibkit.files import write_atomic
from calibkit.runs.store import RunStore


def test_a_new_file_is_readable_by_all_and_a_replaced_one_keeps_its_mode(tmp_path):
    path = write_atomic(tmp_path / "a" / "x.json", "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_text() == "{}"
    os.chmod(path, 0o600)
    write_atomic(path, b"[]")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "[]"
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.json"]  # no temporary file left


def test_a_run_folders_files_are_readable_by_the_group_as_pages_are(tmp_path):
    store = RunStore(tmp_path / "run")
    store.write_summary({"n_items": 0})
    (summary,) = [p for p in store.path.iterdir() if p.name == "summary.json"]
    assert stat.S_IMODE(summary.stat().st_mode) == 0o644  # was 0o600: tempfile's private mode
