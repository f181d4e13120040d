"""Hostile scripts (tests/hostile/) through `invoke run`: each ends, reports, and leaves nothing.

Each test adds a row to the table printed at the end of the session
(script, status, peak processes, wall time, container left); the README's
"Safety" section records it.  Wall times are recorded, never asserted.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.docker
HOSTILE = ROOT / "tests" / "hostile"


@pytest.fixture
def hostile(engine, cli, request):
    """Run tests/hostile/NAME.py with `invoke run`; return (exit code, result.json, report.md, report.html)."""

    def run(name: str, *options: str):
        started = time.monotonic()
        code, out, err = cli("run", str(HOSTILE / f"{name}.py"), *options)
        wall = time.monotonic() - started
        folder = cli.reports / f"run-{name.replace('_', '-')}"
        result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        left = [c.name for c in engine.leftovers() if c.labels.get("org.forklab.lab") == folder.name]
        request.config.hostile_rows.append((name, result["status"], result.get("peak_processes"),
                                            wall, "yes" if left else "no"))
        assert not left, f"containers left: {left}"
        return code, result, (folder / "report.md").read_text(encoding="utf-8"), \
            (folder / "report.html").read_text(encoding="utf-8")

    return run


def test_a_fork_bomb_stops_at_the_pids_limit(hostile):
    code, result, report, _ = hostile("fork_bomb", "--timeout", "5")
    assert code == 1 and result["status"] == "timeout"
    limit = result["environment"]["container"]["limits"]["pids"]
    assert result["peak_processes"] == limit == 64
    assert "BlockingIOError(11, 'Resource temporarily unavailable')" in result["stderr"]
    assert "**the limit was reached**" in report


def test_an_endless_loop_is_killed_at_the_timeout_with_its_output(hostile):
    code, result, report, _ = hostile("endless_loop", "--timeout", "3")
    assert code == 1 and result["status"] == "timeout"
    assert result["stdout"] == "the child loops too\n"
    assert result["exit"]["signal_name"] == "SIGKILL"
    assert "**time was up**" in report


def test_a_flood_is_cut_at_the_cap(hostile):
    code, result, report, _ = hostile("flood", "--output-cap", "1")
    assert code == 0 and result["status"] == "passed"
    written = 20 * 1024 * len("flood " * 170 + "\n")
    assert len(result["stdout"].encode()) == len(result["stderr"].encode()) == 1024 * 1024
    assert result["truncated"]["stdout"] == written + len("the end\n") - 1024 * 1024  # every byte counted
    assert result["truncated"]["stderr"] == written - 1024 * 1024
    assert "**cut**" in report


def test_a_memory_hog_is_oom_killed(hostile):
    code, result, report, _ = hostile("memory_hog", "--memory", "64")
    assert result["oom_kills"] >= 1
    assert result["exit"]["signal_name"] == "SIGKILL"
    assert "OOM-killed" in report


def test_bytes_that_are_not_text_leave_valid_reports(hostile):
    code, result, report, html = hostile("bad_bytes")
    assert code == 0
    for text in (report, html, json.dumps(result)):
        text.encode("utf-8")  # valid UTF-8 (a lone surrogate would raise)
        assert "\x00" not in text and "\x1b" not in text and "\x07" not in text
    assert "\\x1b[31mred\\x1b[0m" in report and "a NUL byte: [\\x00]" in report
    assert "invalid utf-8: \ufffd\ufffd\ufffd(" in result["stdout"]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_output_cannot_pass_for_the_runner(hostile):
    code, result, report, _ = hostile("spoof_markers")
    assert [s["checkpoint"] for s in result["snapshots"]] == ["start", "end"]
    assert result["roles"]["reaper"] == 1 and "child" not in result["roles"]
    assert "could not write into the runner's stdout: Permission denied" in result["stderr"]
    assert "could not read the runner's environment: Permission denied" in result["stderr"]
    assert result["stdout"].startswith('{"schema": "forklab.runner/1"')  # shown as output, nothing more
    assert "{{pid:reaper} {{pid:child}" in report


def test_killing_its_parent_does_not_stop_the_runner(hostile):
    code, result, _, _ = hostile("kills_parent")
    assert code == 0 and result["status"] == "passed"
    assert "the runner received SIGINT and ignored it" in result["warnings"]


def test_closing_stdout_ends_nothing(hostile):
    code, result, _, _ = hostile("closes_stdout")
    assert code == 0 and result["stdout"] == "before closing\n"


def test_children_that_outlive_their_parent_are_heard(hostile):
    code, result, _, _ = hostile("exits_with_children")
    lines = result["stdout"].splitlines()
    assert lines[0] == "parent leaves now"
    assert sorted(lines[1:]) == [f"child {n} outlived its parent" for n in range(3)]


def test_a_daemon_is_adopted_and_waited_for(hostile):
    code, result, _, _ = hostile("daemon")
    assert "daemon in session" in result["stdout"] and result["stdout"].rstrip().endswith("parent 1")
    adopted = [e for e in result["events"] if e["event"] == "adopt"]
    assert adopted and all(e["by_role"] == "reaper" for e in adopted)


def test_controls_in_argv_comm_names_and_output_are_written_out(hostile, cli):
    import re

    from forklab.pictures import text_tree

    code, result, report, html = hostile("control_characters")
    assert code == 0 and result["status"] == "passed"
    # result.json keeps what the processes held; the reports write it out.
    [named] = [s for s in result["snapshots"] if s["checkpoint"] == "we`ird | <b>\x1b[2J\u202e\nname"]
    rows = {row["role"]: row for row in named["processes"]}
    assert "\x1b]0;PWNED\x07\x1b[2J \r\x08 \u202eexe.txt" in rows["execs"]["command"]
    assert rows["dies"]["state"] == "Z" and rows["dies"]["command"] == "[\x1b[2J\u202e\x07] <defunct>"
    folder = cli.reports / "run-control-characters"
    assert "\u202etxt.exe".encode() in (folder / "stdout.log").read_bytes()  # the log stays byte for byte
    normalized = (folder / "normalized.md").read_text(encoding="utf-8")
    tree = text_tree(result)
    raw = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
    for text in (report, normalized, html, "\n".join(tree)):
        assert raw.search(text) is None, text[max(raw.search(text).start() - 80, 0):][:160]
        assert "\\x1b]0;PWNED\\x07\\x1b[2J \\x0d\\x08 \\u202eexe.txt \\u2066iso\\u2069" in text
    for text in (report, normalized, html):
        assert "bidi: \\u202etxt.exe\\u202c, isolated \\u2067x\\u2069, \\u200bhidden, C1 \\x9b31m" in text
    assert len(tree) == 4  # reaper, main, execs, dies: the newline in argv added no branch
    # main reaped it between two looks: its wait() returned it
    assert "`tick two\\nlines " in tree[2] and tree[2].endswith(" · reaped by main")
    # GitHub shows a Markdown cell's \\ as one backslash, and &lt; as <.
    assert "| **dies** | main | **Z** (zombie) | [\\\\x1b[2J\\\\u202e\\\\x07] &lt;defunct&gt; |" in normalized
    assert "### 2. ``we`ird | <b>\\x1b[2J\\u202e\\nname`` (asked by main)\n" in normalized
    assert "<code>[\\x1b[2J\\u202e\\x07] &lt;defunct&gt;</code>" in html and "<b>" not in html


def test_silent_connections_to_the_checkpoint_socket_do_not_hold_up_the_runner(hostile):
    code, result, report, _ = hostile("socket_sitter", "--timeout", "3")
    assert code == 1 and result["status"] == "timeout"
    # The runner's own document, at its own deadline: the host did not have to kill it.
    assert result["runner"]["status"] == "timeout" and not result["runner"]["timed_out_on_host"]
    assert result["stdout"] == "sitting on the socket\n"
    assert [s["checkpoint"] for s in result["snapshots"]] == ["start", "end"]
    assert result["runner"]["refused_requests"]["unfinished"] >= 1
    assert "connections to the checkpoint socket sent no whole request within 1 s" in report


def test_a_long_line_a_crowd_and_unread_replies_leave_checkpoints_working(hostile):
    code, result, _, _ = hostile("socket_abuse")
    assert code == 0 and result["status"] == "passed"
    assert result["stdout"] == "the runner hung up on a 4 MiB line\ncheckpoint() still works\n"
    names = [s["checkpoint"] for s in result["snapshots"]]
    assert names == ["start", *(f"unread-{n}" for n in range(20)), "after", "end"]
    assert result["runner"]["refused_requests"]["too_long"] == 1


def test_false_fork_reports_are_dropped(hostile):
    code, result, report, _ = hostile("forged_forks")
    assert code == 0 and result["status"] == "passed"
    forks = [e for e in result["events"] if e["event"] == "fork"]
    assert [(e["role"], e["ppid_role"], e.get("nth")) for e in forks] == [("main", "reaper", None),
                                                                            ("main.1", "main", 1)]
    assert result["runner"]["dropped_fork_reports"] == 42
    assert "42 fork reports were dropped" in report


def test_checkpoint_spam_is_capped_and_the_end_is_still_seen(hostile, cli):
    from forklab.runner import MAX_SNAPSHOTS

    code, result, report, _ = hostile("checkpoint_spam", "--timeout", "60")
    assert code == 0 and result["stdout"] == "all 3000 checkpoints returned\n"
    names = [s["checkpoint"] for s in result["snapshots"]]
    assert names == ["start", *(f"spam-{n}" for n in range(MAX_SNAPSHOTS - 1)), "end"]
    assert result["runner"]["skipped_snapshots"] == 3000 - (MAX_SNAPSHOTS - 1)
    assert f"{3000 - (MAX_SNAPSHOTS - 1)} snapshots beyond the first {MAX_SNAPSHOTS} were not taken" in report
    files = list((cli.reports / "run-checkpoint-spam").glob("snapshot-*.ps.txt"))
    assert len(files) == MAX_SNAPSHOTS + 1
