"""Hostile input on the host's side of a run: what is sent, how big it may be, where reports go.

Each test runs real containers through `invoke run` or `invoke lab`, as a
student or instructor would, and checks what they would check by eye.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from forklab import catalog
from tests.support import ROOT

pytestmark = pytest.mark.docker
HOSTILE = ROOT / "tests" / "hostile"


def _result(folder) -> dict:
    return json.loads((folder / "result.json").read_text(encoding="utf-8"))


def test_a_crashing_script_fails_and_shows_its_traceback(cli, no_leftovers):
    code, out, err = cli("run", str(HOSTILE / "crashes.py"))
    result = _result(cli.reports / "run-crashes")
    assert code == 1 and result["status"] == "failed"
    assert result["exit"]["code"] == 1
    assert "the script exited with code 1" in out
    assert "ValueError: the bug is here" in out and "working on it" in out
    [check] = result["checks"]
    assert not check["passed"] and "saw exit code 1" in check["detail"]
    report = (cli.reports / "run-crashes" / "report.md").read_text(encoding="utf-8")
    assert "✗ | the script exits with code 0" in report and "ValueError: the bug is here" in report


def test_an_expected_crash_or_kill_passes(cli, no_leftovers):
    code, out, err = cli("run", str(HOSTILE / "crashes.py"), "--expect-exit", "1")
    assert code == 0 and _result(cli.reports / "run-crashes")["status"] == "passed"
    code, out, err = cli("run", str(HOSTILE / "memory_hog.py"), "--memory", "64", "--expect-exit", "SIGKILL")
    assert code == 0 and _result(cli.reports / "run-memory-hog")["status"] == "passed", out + err


def _fill(folder, total: int) -> None:
    """main.py that reads every byte of data.bin, and random (incompressible) data up to ``total`` bytes."""
    folder.mkdir()
    (folder / "main.py").write_text("data = open('data.bin', 'rb').read()\nprint('read', len(data))\n",
                                    encoding="utf-8")
    used = (folder / "main.py").stat().st_size
    (folder / "data.bin").write_bytes(os.urandom(total - used))


def test_a_script_folder_of_exactly_the_limit_runs_and_one_byte_more_is_refused(cli, tmp_path, no_leftovers):
    folder = tmp_path / "big"
    _fill(folder, catalog.MAX_SCRIPT_BYTES)
    code, out, err = cli("run", str(folder))
    size = (folder / "data.bin").stat().st_size
    assert code == 0, out + err
    assert _result(cli.reports / "run-big")["stdout"] == f"read {size}\n"
    with open(folder / "data.bin", "ab") as data:
        data.write(b"x")
    code, out, err = cli("run", str(folder))
    assert code == 2 and "its files come to more than `invoke run` sends (256 KiB)" in err
    assert err.count("\n") == 1


def test_a_lab_folder_of_exactly_the_limit_runs(cli, tmp_path, no_leftovers):
    labs = tmp_path / "labs"
    folder = labs / "13-big"
    shutil.copytree(ROOT / "labs" / "01-fork-returns", folder, ignore=shutil.ignore_patterns("README*"))
    shutil.copy(ROOT / "labs" / "claims.yaml", labs)
    text = (folder / "lab.yaml").read_text(encoding="utf-8").replace("number: 1\n", "number: 13\n")
    (folder / "lab.yaml").write_text(text, encoding="utf-8")
    used = sum(path.stat().st_size for path in folder.iterdir())
    (folder / "data.bin").write_bytes(os.urandom(catalog.MAX_LAB_BYTES - used))
    code, out, err = cli("lab", "13", labs=labs)
    assert code == 0, out + err
    with open(folder / "data.bin", "ab") as data:
        data.write(b"x")
    code, out, err = cli("lab", "13", labs=labs)
    assert code == 2 and "more than a lab folder may hold (1.0 MiB)" in err


def test_dev_shm_is_small_and_shown_with_the_limits(cli, no_leftovers):
    code, out, err = cli("run", str(HOSTILE / "fills_shm.py"))
    result = _result(cli.reports / "run-fills-shm")
    assert result["stdout"] == "stopped after 4 MiB: No space left on device\n"
    writable = result["environment"]["container"]["limits"]["writable_bytes"]
    assert writable == {"/tmp": 64 * 2**20, "/dev/shm": 4 * 2**20}
    assert result["environment"]["container"]["limits"]["core_bytes"] == 0


def test_a_script_s_report_is_named_after_the_script_itself(cli, tmp_path, no_leftovers):
    (tmp_path / "real.py").write_text("print('hi')\n", encoding="utf-8")
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    shutil.copy(tmp_path / "real.py", tmp_path / "ünï€.py")
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(tmp_path / "real.py", other / "ünï€.py")
    for path in (tmp_path / "link.py", tmp_path / "ünï€.py", other / "ünï€.py", tmp_path / "link.py"):
        code, out, err = cli("run", str(path))
        assert code == 0, out + err
    assert sorted(p.name for p in cli.reports.iterdir() if p.is_dir()) == ["run-link", "run-ünï", "run-ünï-2"]


@pytest.fixture
def small_mount(tmp_path):
    """A 256 KiB tmpfs of our own (root only): a disk that can be filled, or made read-only."""
    point = tmp_path / "mount"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        if os.environ.get("FORKLAB_REQUIRE_DOCKER") == "1" and os.geteuid() == 0:
            pytest.fail(f"cannot mount a tmpfs as root: {done.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield point
    subprocess.run(["umount", str(point)], check=False)


def test_a_read_only_reports_folder_is_refused_before_the_lab_runs(cli, small_mount, monkeypatch, engine):
    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    monkeypatch.setenv("INVOKE_FORKLAB_REPORTS_DIR", str(small_mount / "reports"))
    before = {c.id for c in engine.leftovers()}
    code, out, err = cli("lab", "3")
    assert code == 2 and "reports cannot be written there (Read-only file system)" in err
    assert err.count("\n") == 1 and "Traceback" not in err + out
    assert "lab 03" not in err  # nothing ran
    assert {c.id for c in engine.leftovers()} == before


def test_a_disk_that_fills_up_is_exit_3_and_the_previous_report_stays(cli, small_mount, monkeypatch,
                                                                         no_leftovers):
    reports = small_mount / "reports"
    monkeypatch.setenv("INVOKE_FORKLAB_REPORTS_DIR", str(reports))
    previous = reports / "run-daemon"
    previous.mkdir(parents=True)
    (previous / "report.md").write_text("the previous report\n", encoding="utf-8")
    # Fill what is left, so the run's report (about 100 KiB) cannot be written.
    with open(small_mount / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"x" * 4096)
        except OSError:
            pass
    code, out, err = cli("run", str(HOSTILE / "daemon.py"))
    assert code == 3, out + err
    [line] = [line for line in err.splitlines() if line.startswith("forklab:")]
    assert "the disk is full" in line and err.endswith(line + "\n")
    assert "Traceback" not in err + out
    assert (previous / "report.md").read_text(encoding="utf-8") == "the previous report\n"
    assert sorted(p.name for p in reports.iterdir()) == ["run-daemon"]
