"""The head start's plan (forklab/host/headstart.py) without an engine: where it is kept, what
changes its key, and that no plan can start anything but the kit's runner in the kit's sandbox."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from forklab.host import headstart
from tests.support import ROOT

SETTINGS = ("forklab/base", None)


def entry(**changes) -> dict:
    args = {"image": "sha256:" + "ab" * 32, "command": ["python3", "-m", "forklab.runner", "--settings", "{}",
                                                         "lab.py"],
            "environment": {"FORKLAB_ARCHIVE": "1", "FORKLAB_ARCHIVE_0": "xyz"},
            "labels": {"org.forklab": "true"}, "prefix": "forklab-lab03-reaper", "pids_limit": 64,
            "memory_mb": 256, "timeout": 50.0}
    return {"runs": ["reaper"], "args": {**args, **changes}}


@pytest.fixture
def labs(tmp_path, monkeypatch):
    folder = tmp_path / "labs"
    folder.mkdir()
    shutil.copytree(ROOT / "labs" / "01-fork-returns", folder / "01-fork-returns")
    (folder / "claims.yaml").write_text("claims: []\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return folder


def test_a_plan_is_read_back_for_its_key_only(labs):
    folder = labs / "01-fork-returns"
    key = headstart.plan_key(labs, folder, SETTINGS)
    headstart.write_plan(folder, key, [entry()])
    assert headstart.read_plan(folder, key) == [entry()]
    assert headstart.read_plan(folder, "another key") == []
    headstart._plan_file(folder).write_text("{not json", encoding="utf-8")
    assert headstart.read_plan(folder, key) == []


@pytest.mark.parametrize("change", [
    lambda labs: (labs / "01-fork-returns" / "lab.py").write_text("print('edited')\n", encoding="utf-8"),
    lambda labs: (labs / "01-fork-returns" / "data.txt").write_text("new file\n", encoding="utf-8"),
    lambda labs: (labs / "claims.yaml").write_text("claims: [] # edited\n", encoding="utf-8"),
])
def test_editing_the_lab_or_the_claims_is_another_key(labs, change):
    folder = labs / "01-fork-returns"
    key = headstart.plan_key(labs, folder, SETTINGS)
    assert headstart.plan_key(labs, folder, SETTINGS) == key
    change(labs)
    assert headstart.plan_key(labs, folder, SETTINGS) != key
    assert headstart.plan_key(labs, folder, ("another/base", None)) != headstart.plan_key(labs, folder, SETTINGS)


@pytest.mark.parametrize("bad", [
    {"command": ["sh", "-c", "echo hi"]},
    {"command": ["python3", "-m", "forklab.runner", 3]},
    {"image": "ubuntu:latest"},
    {"prefix": "not-the-kit's"},
    {"pids_limit": True},
    {"memory_mb": 0},
    {"timeout": -1},
    {"environment": {"A": 1}},
    {"privileged": True},
])
def test_a_plan_cannot_start_anything_but_the_kit_s_runner_in_its_sandbox(labs, bad):
    folder = labs / "01-fork-returns"
    key = headstart.plan_key(labs, folder, SETTINGS)
    headstart.write_plan(folder, key, [entry(), entry(**bad)])
    assert headstart.read_plan(folder, key) == [], "one container not of the kit's shape: no plan at all"


def test_a_lab_is_found_by_its_number_as_the_catalog_finds_it(labs):
    assert headstart.lab_folder(labs, "1") == headstart.lab_folder(labs, "01") == labs / "01-fork-returns"
    assert headstart.lab_folder(labs, "2") is None
    assert headstart.lab_folder(labs, "x1") is None
    (labs / "01-another").mkdir()
    assert headstart.lab_folder(labs, "1") is None, "two labs numbered 01: the catalog says so, not the head start"


def test_the_head_start_imports_neither_pydantic_nor_the_kit_s_reports():
    code = ("import sys; from forklab.host import headstart, connection, sandbox, containers; "
            "print(sorted(m for m in ('pydantic', 'rich', 'jinja2', 'yaml', 'forklab.catalog') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_a_plan_keeps_json_s_types():
    assert headstart.comparable({"a": (1, 2), "b": 1.5}) == json.loads('{"a": [1, 2], "b": 1.5}')


def test_a_plan_is_the_user_s_alone_and_of_a_plain_run_s_size(labs):
    folder = labs / "01-fork-returns"
    key = headstart.plan_key(labs, folder, SETTINGS)
    headstart.write_plan(folder, key, [entry()])
    assert headstart._plan_file(folder).stat().st_mode & 0o777 == 0o600
    headstart.write_plan(folder, key, [entry()] * (headstart.MAX_CONTAINERS + 1))
    assert headstart.read_plan(folder, key) == []
