"""Normalization and pictures, on small documents made here (no engine)."""

from __future__ import annotations

import re

from forklab import normalize, pictures
from tests.test_checks_and_report import (
    CHILD,
    MAIN,
    ORPHAN,
    RUNNER,
    evaluated,
    rendered,
    runner_document,
)

PATTERNS = [r"^我是子进程(\d+),我的父进程是(\d+)$", r"^(\d+) \d+$"]
NAMES = {MAIN: "parent", CHILD: "child", RUNNER: "reaper"}


def test_declared_pids_become_roles():
    text = f"我是子进程{CHILD},我的父进程是{MAIN}\n{CHILD} 0"
    assert normalize.output(text, PATTERNS, NAMES) == "我是子进程{pid:child},我的父进程是{pid:parent}\n{pid:child} 0"


def test_numbers_outside_the_patterns_are_left_alone():
    # 8 is the child's pid here, but this line prints a wait status, not a pid.
    text = f"SIGKILL: 状态是 {CHILD}\n我是子进程{CHILD},我的父进程是99"
    assert normalize.output(text, PATTERNS, NAMES) == f"SIGKILL: 状态是 {CHILD}\n我是子进程{{pid:child}},我的父进程是99"


def test_output_that_looks_like_a_role_cannot_pass_for_one():
    text = "{pid:child} child reaper <defunct>\n我是子进程{pid:x},我的父进程是1"
    out = normalize.output(text, PATTERNS, NAMES)
    assert out.splitlines()[0] == "{{pid:child} child reaper <defunct>"
    assert re.findall(r"(?<!\{)\{pid:", out) == []  # no real placeholder came from the lab's own text


def test_the_normalized_report_has_no_pids_times_or_sizes(tmp_path):
    doc = runner_document()
    text = rendered(tmp_path, doc)["normalized.md"].decode("utf-8")
    for pid in (CHILD, MAIN, ORPHAN):
        assert not re.search(rf"(?<![\d.]){pid}(?![\d.])", text), f"pid {pid} leaked into the normalized part"
    assert "MiB" not in text and " ms" not in text
    report = rendered(tmp_path, doc)["report.md"].decode("utf-8")
    assert report.startswith(text), "report.md begins with the normalized part, verbatim"


def test_rows_follow_the_fork_tree_not_the_pids(tmp_path):
    from forklab.report import snapshot_rows

    doc = runner_document()
    # An unnamed process with the smallest pid of all still comes after main's forks.
    doc["snapshots"][0]["processes"][3]["pid"] = 3
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n", doc)
    assert list(pictures.tree_order(document)) == [RUNNER, MAIN, CHILD, ORPHAN, 3]
    rows = snapshot_rows(document, document["snapshots"][0])
    assert [row["role"] for row in rows] == ["reaper", "parent", "child", "unnamed-1"]


def test_tree_pictures_have_one_node_per_process(tmp_path):
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n")
    svg = pictures.svg_tree(document)
    processes = pictures.lives(document)[1]
    assert svg.count('<g class="process') == len(processes)
    assert 'class="process zombie" data-role="child"' in svg
    mermaid = pictures.mermaid_tree(document)
    assert mermaid.startswith("flowchart TD")
    assert mermaid.count('["') == len(processes)
    assert "-.->|adopts|" in mermaid


def test_the_timeline_shows_the_zombie_span(tmp_path):
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n")
    svg = pictures.svg_timeline(document)
    assert svg.count('<g class="life"') == len(pictures.lives(document)[1]) - 1  # all but the reaper
    gantt = pictures.mermaid_timeline(document)
    assert "section orphan" in gantt and "running :" in gantt


def test_a_parent_that_reaped_its_child_is_named(tmp_path):
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n")
    lines = pictures.text_tree(document)
    child = next(line for line in lines if "child " in line or line.strip().startswith(("├── child", "└── child")))
    assert "zombie at zombie" in child and "reaped by parent" in child
