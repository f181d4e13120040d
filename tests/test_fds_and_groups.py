"""Process groups and open descriptors: the pgid and fds checks, and how reports name pipes (no engine)."""

from __future__ import annotations

import pytest

from forklab import normalize
from tests.support import CHILD, ENVIRONMENT, GOOD, MAIN, RUNNER, error_of, evaluated, row, runner_document

READER, LEADER = 30, 31


def fd(number: int, target: str, mode: str = "r") -> dict:
    return {"fd": number, "target": target, "mode": mode}


STREAMS = [fd(0, "/dev/null"), fd(1, "pipe:[500]", "w"), fd(2, "pipe:[501]", "w")]


def document() -> dict:
    """main (parent) made a pipe (fds 3 and 4) and forked a reader that closed the write end,
    and a process that leads a group of its own; later main has another pipe on fd 3."""
    doc = runner_document()
    zombie = doc["snapshots"][0]
    zombie["processes"] = [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(CHILD, MAIN, "Z", "[python3] <defunct>", 0),
                           row(READER, MAIN), {**row(LEADER, MAIN), "pgid": LEADER}]
    rows = {r["pid"]: r for r in zombie["processes"]}
    rows[MAIN]["fds"] = [*STREAMS, fd(3, "pipe:[600]"), fd(4, "pipe:[600]", "w"), fd(5, "socket:[77]", "rw")]
    rows[READER]["fds"] = [*STREAMS, fd(3, "pipe:[600]"), fd(6, "/tmp/lab/data.txt", "w")]
    rows[LEADER]["fds"] = None  # could not be read
    adopted = doc["snapshots"][1]
    adopted["processes"][1]["fds"] = [*STREAMS, fd(3, "pipe:[700]")]
    doc["roles"].update({str(READER): "reader", str(LEADER): "leader"})
    return doc


def outcome(tmp_path, check: str) -> dict:
    return evaluated(tmp_path, f"  - {check}\n", document())["checks"][0]


@pytest.mark.parametrize("check, passed", [
    ("{check: pgid, checkpoint: zombie, role: reader, same_as: parent}", True),
    ("{check: pgid, checkpoint: zombie, role: leader, same_as: parent}", False),
    ("{check: pgid, checkpoint: zombie, role: leader, leader: true}", True),
    ("{check: pgid, checkpoint: zombie, role: reader, leader: true}", False),
    ("{check: pgid, checkpoint: zombie, role: reader, leader: false}", True),
    ("{check: pgid, checkpoint: zombie, role: parent, leader: true}", True),
    ("{check: pgid, checkpoint: zombie, role: ghost, leader: true}", False),
    ("{check: pgid, checkpoint: nowhere, role: reader, leader: false}", False),
    ("{check: fds, checkpoint: zombie, role: reader, holds: false, pipe: write, of: 'reader:3'}", True),
    ("{check: fds, checkpoint: zombie, role: parent, holds: false, pipe: write, of: 'reader:3'}", False),
    ("{check: fds, checkpoint: zombie, role: parent, holds: true, pipe: write, of: 'reader:3'}", True),
    ("{check: fds, checkpoint: zombie, role: reader, holds: true, pipe: read, of: 'parent:3'}", True),
    # Without `of`, stdout's pipe counts: every process here holds a pipe's write end on fd 1.
    ("{check: fds, checkpoint: zombie, role: reader, holds: false, pipe: write}", False),
    ("{check: fds, checkpoint: zombie, role: reader, holds: true, pipe: write, fd: 1}", True),
    ("{check: fds, checkpoint: zombie, role: reader, holds: true, pipe: write, fd: 3}", False),
    ("{check: fds, checkpoint: zombie, role: reader, holds: true, pipe: any, fd: 3}", True),
    ("{check: fds, checkpoint: zombie, role: reader, holds: true, file: data.txt}", True),
    ("{check: fds, checkpoint: zombie, role: reader, holds: true, file: /tmp/lab/*.txt}", True),
    ("{check: fds, checkpoint: zombie, role: reader, holds: true, file: /tmp/*.log}", False),
    ("{check: fds, checkpoint: zombie, role: parent, holds: false, file: data.txt}", True),
    ("{check: fds, checkpoint: zombie, role: parent, holds: true, file: '*'}", True),
    ("{check: fds, checkpoint: zombie, role: reader, holds: false, pipe: write, of: 'leader:3'}", False),
    ("{check: fds, checkpoint: zombie, role: leader, holds: false, pipe: any}", False),
    ("{check: fds, checkpoint: zombie, role: child, holds: false, pipe: any}", False),
])
def test_the_pgid_and_fds_checks_can_pass_and_fail(tmp_path, check, passed):
    seen = outcome(tmp_path, check)
    assert seen["passed"] is passed, seen["detail"]


def test_they_say_what_was_expected_and_seen_with_pipes_named_after_roles(tmp_path):
    seen = outcome(tmp_path, "{check: fds, checkpoint: zombie, role: parent, holds: false, pipe: write, "
                             "of: 'reader:3'}")
    assert seen["name"] == "parent does not hold the write end of the pipe on reader's fd 3 open at zombie"
    assert seen["detail"] == ("expected parent not to hold the write end of the pipe on reader's fd 3 open at "
                              "zombie; it held 4 pipe:[parent:3] (w)")
    seen = outcome(tmp_path, "{check: fds, checkpoint: zombie, role: reader, holds: true, pipe: write, fd: 3}")
    assert seen["detail"] == ("expected reader to hold a pipe's write end as fd 3 open at zombie; it held none: "
                              "0 /dev/null (r), 1 pipe:[parent:1] (w), 2 pipe:[parent:2] (w), 3 pipe:[parent:3] (r), "
                              "6 /tmp/lab/data.txt (w)")
    seen = outcome(tmp_path, "{check: fds, checkpoint: zombie, role: leader, holds: false, pipe: any}")
    assert seen["detail"].endswith("; its descriptors could not be read")
    seen = outcome(tmp_path, "{check: pgid, checkpoint: zombie, role: leader, same_as: parent}")
    assert seen["name"] == "leader is in parent's process group at zombie"
    assert seen["detail"] == ("expected leader in parent's process group at zombie; leader was in the group leader "
                              "leads, parent in the group parent leads")
    seen = outcome(tmp_path, "{check: pgid, checkpoint: zombie, role: reader, leader: true}")
    assert seen["name"] == "reader leads its own process group at zombie"
    assert seen["detail"] == "expected reader to lead its own process group at zombie; it was in the group parent leads"


def test_a_pipe_keeps_its_name_and_a_later_pipe_on_the_same_descriptor_gets_another():
    doc = document()
    for snapshot in doc["snapshots"]:
        for one in snapshot["processes"]:
            one["role"] = {MAIN: "parent", READER: "reader"}.get(one["pid"])
    names = normalize.fd_names(doc)
    assert names == {"pipe:[500]": "pipe:[parent:1]", "pipe:[501]": "pipe:[parent:2]",
                     "pipe:[600]": "pipe:[parent:3]", "socket:[77]": "socket",
                     "pipe:[700]": "pipe:[parent:3@adopted]"}
    # The same pipes under other inode numbers, in another run: the same names.
    text = str(doc).replace("[500]", "[9500]").replace("[600]", "[9600]").replace("[700]", "[9700]")
    again = normalize.fd_names(eval(text))  # noqa: S307 - a dict literal this test made
    assert sorted(again.values()) == sorted(names.values())
    assert normalize.fd_text(fd(4, "pipe:[600]", "w"), names) == "4 pipe:[parent:3] (w)"
    assert normalize.fd_text({"fd": 9, "target": "anon_inode:[eventfd]", "mode": None}, names) == \
        "9 anon_inode:[eventfd]"


def test_the_chinese_sentences(tmp_path):
    from forklab import checks
    from tests.test_checks_and_report import lab_with

    lab = lab_with(tmp_path, "  - {check: fds, checkpoint: zombie, role: reader, holds: false, pipe: write, "
                             "of: 'reader:3'}\n  - {check: pgid, checkpoint: zombie, role: leader, leader: true}\n")
    fds, pgid = lab.spec.expect
    assert checks.sentence(fds, "zh") == "检查点 zombie 时 reader 没有打开reader 的文件描述符 3 所连管道的写端"
    assert checks.sentence(pgid, "zh") == "检查点 zombie 时 leader 是自己进程组的组长"


@pytest.mark.parametrize("check, expected", [
    ("{check: pgid, checkpoint: a, role: x}", "give exactly one of 'same_as' (a role) or 'leader' (true or false)"),
    ("{check: pgid, checkpoint: a, role: x, same_as: y, leader: true}", "give exactly one of 'same_as'"),
    ("{check: fds, checkpoint: a, role: x, holds: true}", "give exactly one of 'pipe' (read, write or any) or 'file'"),
    ("{check: fds, checkpoint: a, role: x, holds: true, pipe: write, file: a.txt}", "give exactly one of 'pipe'"),
    ("{check: fds, checkpoint: a, role: x, holds: true, file: a.txt, of: 'y:3'}", "'of' names a pipe (ROLE:FD)"),
    ("{check: fds, checkpoint: a, role: x, holds: true, pipe: write, of: y}",
     "expect[1].of: give ROLE:FD, such as reader:3"),
    ("{check: fds, checkpoint: a, role: x, holds: true, pipe: both}", "expect[1].pipe: give 'read', 'write' "
                                                                      "or 'any'"),
    ("{check: fds, checkpoint: a, role: x, pipe: read}", "expect[1].holds: required but missing"),
    ("{check: fds, checkpoint: a, role: x, hold: true, pipe: read}", "expect[1].hold: unknown key; did you mean "
                                                                     "`holds`?"),
])
def test_the_pgid_and_fds_checks_are_checked(tmp_path, check, expected):
    assert expected in error_of(tmp_path, GOOD + f"  - {check}\n")


def test_the_snapshot_tables_show_groups_and_open_files_only_where_the_lab_checks_them(tmp_path):
    from forklab import report, result

    def normalized(check: str) -> str:
        doc = evaluated(tmp_path, f"  - {check}\n", document())
        doc["environment"].update(ENVIRONMENT)
        return report.render(doc, [result.output_bytes({"document": document()})])["normalized.md"].decode()

    plain = normalized("{check: no-zombies-at-end}")
    assert "| Role | Parent | State | Command |\n|---|---|---|---|\n" in plain
    assert "Open files" not in plain and "Process group" not in plain and "pipe:[" not in plain
    both = normalized("{check: fds, checkpoint: zombie, role: reader, holds: false, pipe: write, of: 'reader:3'}\n"
                      "  - {check: pgid, checkpoint: zombie, role: leader, leader: true}")
    assert "| Role | Parent | State | Command | Process group | Open files |\n|---|---|---|---|---|---|\n" in both
    assert ("| reader | parent | S | python3 lab.py | parent | 0 /dev/null (r), 1 pipe:[parent:1] (w), "
            "2 pipe:[parent:2] (w), 3 pipe:[parent:3] (r), 6 /tmp/lab/data.txt (w) |") in both
    assert "| leader | parent | S | python3 lab.py | leader | - |" in both  # its descriptors could not be read
    for inode in ("[500]", "[501]", "[600]", "[700]", "[77]"):
        assert inode not in both
