"""Labs 17 and 18, their facts read straight from result.json.

What a student checks by eye in the report, asserted without the expectation
engine, so a broken check cannot hide a broken lab.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import events_of, rows_at

pytestmark = pytest.mark.docker


def pipe_ends(row: dict) -> dict[int, tuple[str, str]]:
    """fd -> (pipe, end) for the pipes a process row holds."""
    return {fd["fd"]: (fd["target"], fd["mode"]) for fd in row["fds"] if fd["target"].startswith("pipe:[")}


# -- lab 17: pipes and exec ---------------------------------------------------------------

def test_lab_17_wc_prints_only_after_the_parent_closes_the_write_end(lab_result):
    doc = lab_result(17)
    assert doc["stdout"].splitlines() == [
        "管道: 读端 fd 3, 写端 fd 4",
        "ls: 退出码 0",
        "wc: 状态 S, 在读管道 (read), 还没有打印",
        "父进程关闭写端 fd 4",
        "3",
        "wc -l: 退出码 0",
    ]


def test_lab_17_the_reader_sleeps_while_the_parent_holds_the_write_end(lab_result):
    doc = lab_result(17)
    rows = rows_at(doc, "parent-holds-write-end")
    # ls has ended and been reaped: only the parent and wc are left.
    assert set(rows) == {"reaper", "parent", "reader"}
    reader, parent = rows["reader"], rows["parent"]
    assert reader["state"] == "S" and reader["command"] == "wc -l"
    assert reader["ppid"] == parent["pid"]
    # wc reads the pipe on fd 0 and holds no write end of it; the parent holds that write end on fd 4.
    wc_pipes = pipe_ends(reader)
    pipe, end = wc_pipes[0]
    assert end == "r"
    assert (pipe, "w") not in wc_pipes.values()
    assert pipe_ends(parent)[4] == (pipe, "w")
    assert 3 not in pipe_ends(parent), "the parent closed its read end"


def test_lab_17_at_the_end_the_parent_holds_no_end_and_reaped_both(lab_result):
    doc = lab_result(17)
    rows = rows_at(doc, "all-reaped")
    assert set(rows) == {"reaper", "parent"}
    assert 3 not in pipe_ends(rows["parent"]) and 4 not in pipe_ends(rows["parent"])
    for role in ("main.1", "reader"):
        assert events_of(doc, "adopt", role) == [] and events_of(doc, "reap", role) == []
    parents = {e["role"]: e["ppid_role"] for e in doc["events"] if e["event"] == "fork"}
    assert parents == {"parent": "reaper", "main.1": "parent", "reader": "parent"}
