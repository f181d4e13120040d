"""Each tutorial lab's facts, read straight from result.json.

These assert the same facts as the labs' expectations, but without the
expectation engine, so a broken check cannot hide a broken lab.
"""

from __future__ import annotations

import re

import pytest

from forklab import catalog
from forklab.settings import Settings
from tests.integration.support import exit_of, rows_at, variant
from tests.support import ROOT

pytestmark = pytest.mark.docker


def test_lab_2_the_child_line_depends_on_what_ends_the_child(lab_result):
    doc = lab_result(2)
    assert [v["variant"]["name"] for v in doc["variants"]] == ["pipe", "container", "terminal", "shell"]
    for run in doc["variants"]:
        lines = run["stdout"].splitlines()
        parent, child = run["roles"]["parent"], run["roles"]["child"]
        assert lines[0] == f"我是父进程{parent},我创建了子进程{child}"
        assert rows_at(run, "forked")["child"]["state"] == "R"
    pipe, container, terminal, shell = (variant(doc, n) for n in ("pipe", "container", "terminal", "shell"))
    # Read to the end of the pipe, or in a live terminal: the orphan prints, PID 1 its parent.
    for run in (pipe, shell):
        assert run["stdout"].splitlines()[1] == f"我是子进程{run['roles']['child']},我的父进程是1"
        assert exit_of(run, "child")["code"] == 0
    # A container kills it when main exits; a hung-up terminal sends SIGHUP.
    assert len(container["stdout"].splitlines()) == 1
    assert exit_of(container, "child")["signal_name"] == "SIGKILL"
    assert [e["event"] for e in container["events"]].count("teardown") == 1
    assert len(terminal["stdout"].splitlines()) == 1
    assert exit_of(terminal, "child")["signal_name"] == "SIGHUP"


def test_lab_3_a_pid_1_that_never_waits_keeps_the_orphan_a_zombie(lab_result):
    doc = lab_result(3)
    reaper, never = variant(doc, "reaper"), variant(doc, "pid1-never-waits")
    assert not [r for r in rows_at(reaper, "end").values() if r["state"] == "Z"]
    orphan = rows_at(never, "end")["orphan"]
    assert orphan["state"] == "Z" and orphan["ppid"] == 1 and orphan["command"] == "[python3] <defunct>"
    assert [e for e in never["events"] if e["event"] == "reap" and e["role"] == "orphan"] == []


def test_lab_4_wait_returns_the_encoded_status(lab_result):
    doc = lab_result(4)
    decoded = {}
    for line in doc["stdout"].splitlines():
        match = re.match(r"^(.+): 状态是 (-?\d+), waitstatus_to_exitcode=(-?\d+)", line)
        if match:
            decoded[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    assert decoded == {"sys.exit(0)": (0, 0), "sys.exit(3)": (768, 3), "os._exit(3)": (768, 3),
                       "SIGKILL": (9, -9), "SIGTERM": (15, -15), "sys.exit(256)": (0, 0)}
    zombies = rows_at(doc, "all-ended")
    assert {role for role, row in zombies.items() if row["state"] == "Z"} == \
        {"exit0", "exit3", "os-exit3", "sigkill", "sigterm"}
    assert "ChildProcessError" in doc["stdout"]


def test_lab_5_fork_copies_memory_only_when_written(lab_result):
    doc = lab_result(5)
    assert doc["stdout"].splitlines()[:5] == ["这里是子进程:", "100", "10", "这里是主进程:", "100"]
    mib = 1024
    before, after, wrote = (rows_at(doc, c) for c in ("before-fork", "after-fork", "child-wrote"))
    assert before["parent"]["private_kb"] > 100 * mib
    assert after["child"]["rss_kb"] > 100 * mib
    assert after["child"]["private_kb"] < 10 * mib
    assert wrote["child"]["private_kb"] > 100 * mib
    memory = {s["checkpoint"]: s["container_memory_bytes"] // 2**20 for s in doc["snapshots"]}
    assert memory["after-fork"] - memory["before-fork"] < 10
    assert memory["child-wrote"] - memory["after-fork"] >= 95
    assert "子进程读到: 0123" in doc["stdout"] and "父进程读到: 4567" in doc["stdout"]


def test_lab_6_makes_the_tree_of_eight(lab_result):
    doc = lab_result(6)
    pipe, tty = variant(doc, "pipe"), variant(doc, "tty")
    for run in (pipe, tty):
        parents = {e["role"]: e["ppid_role"] for e in run["events"] if e["event"] == "fork"}
        assert parents == {"main": "reaper", "main.1": "main", "main.2": "main", "main.3": "main",
                           "main.1.1": "main.1", "main.1.2": "main.1", "main.2.1": "main.2",
                           "main.1.1.1": "main.1.1"}
        assert run["stdout"].splitlines().count("哈哈哈") == 8
    assert pipe["stdout"].splitlines().count("准备fork") == 8
    assert tty["stdout"].splitlines().count("准备fork") == 1


def test_lab_6_prints_eight_lines_in_twenty_of_twenty_runs(engine):
    settings = Settings.from_config({}, ROOT)
    base = engine.resolve_base(settings.base_image, None, lambda _: None, pull=False)
    _, image_id = engine.ensure_image(base, lambda _: None, lambda _: None)
    lab = catalog.load_lab(catalog.find_labs(settings.labs_dir)[6])
    counts = []
    for _ in range(20):
        for run in lab.runs():
            record = engine.run_lab(image_id, lab, run)
            counts.append((run.name, record["document"]["stdout"].splitlines().count("哈哈哈"),
                           len({e["pid"] for e in record["document"]["events"] if e["event"] == "fork"})))
    assert counts == [(name, 8, 8) for _ in range(20) for name in ("pipe", "tty")]
