"""Checks and reports, on a small result document made here (no engine)."""

from __future__ import annotations

import io
import json

import pytest

from forklab import catalog, checks, report, result
from tests.support import (
    CHILD,
    HOSTILE_NAME,
    MAIN,
    ORPHAN,
    RAW,
    RUNNER,
    evaluated,
    hostile_document,
    lab_with,
    rendered,
    row,
    runner_document,
)


@pytest.mark.parametrize("expect, passed", [
    ("  - {check: lines, match: '^哈哈哈$', count: 2}", True),
    ("  - {check: lines, match: '^哈哈哈$', count: 8}", False),
    ("  - {check: state, checkpoint: zombie, role: child, state: Z}", True),
    ("  - {check: state, checkpoint: zombie, role: parent, state: Z}", False),
    ("  - {check: state, checkpoint: nowhere, role: child, state: Z}", False),
    ("  - {check: parent, checkpoint: adopted, role: orphan, parent: reaper}", True),
    ("  - {check: parent, checkpoint: zombie, role: child, parent: reaper}", False),
    ("  - {check: absent, checkpoint: adopted, role: child}", True),
    ("  - {check: absent, checkpoint: zombie, role: child}", False),
    ("  - {check: absent, checkpoint: zombie, role: ghost}", False),
    ("  - {check: exit, role: orphan, code: 3}", True),
    ("  - {check: exit, role: orphan, signal: SIGKILL}", False),
    ("  - {check: exit, role: child, code: 0}", False),
    ("  - {check: exit, role: main, code: 0}", True),
    ("  - {check: reaped, role: orphan, by: reaper}", True),
    ("  - {check: reaped, role: orphan, by: parent}", False),
    ("  - {check: reaped, role: child, by: parent}", False),
    ("  - {check: no-zombies-at-end}", True),
])
def test_each_check_can_pass_and_fail(tmp_path, expect, passed):
    outcome = evaluated(tmp_path, expect + "\n")["checks"][0]
    assert outcome["passed"] is passed, outcome["detail"]


def test_a_failed_check_says_what_was_expected_and_seen(tmp_path):
    outcome = evaluated(tmp_path, "  - {check: state, checkpoint: zombie, role: parent, state: Z}\n")["checks"][0]
    assert outcome["name"] == "parent is in state Z at zombie"
    assert outcome["detail"] == "expected parent in state Z at zombie; saw S (python3 lab.py)"


def test_zombies_at_the_end_are_named(tmp_path):
    doc = runner_document()
    doc["snapshots"][-1]["processes"].append(row(ORPHAN, RUNNER, "Z", "[python3] <defunct>", 0))
    outcome = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n", doc)["checks"][0]
    assert not outcome["passed"]
    assert outcome["detail"].endswith("saw 1: orphan")


def test_unnamed_processes_get_stable_roles(tmp_path):
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n")
    assert document["roles"]["unnamed-1"] == 30
    assert document["roles"]["main"] == MAIN and document["roles"]["parent"] == MAIN


@pytest.mark.parametrize("change, status", [
    (lambda d: None, "passed"),
    (lambda d: d.update(status="timeout"), "timeout"),
    (lambda d: d.update(status="runner-error", error="Traceback"), "error"),
    (lambda d: d["exit"].update(code=1, raw=256), "error"),
])
def test_status(tmp_path, change, status):
    doc = runner_document()
    change(doc)
    assert evaluated(tmp_path, "  - {check: no-zombies-at-end}\n", doc)["status"] == status


def test_failed_checks_fail_the_lab(tmp_path):
    assert evaluated(tmp_path, "  - {check: lines, match: x, count: 9}\n")["status"] == "failed"


def test_a_missing_runner_document_is_an_error(tmp_path):
    lab = lab_with(tmp_path, "  - {check: no-zombies-at-end}\n")
    document = result.assemble(lab, lab.runs()[0], {"document": None, "timed_out": False},
                               {"host": {}, "engine": {}, "image": {}})
    document["checks"] = checks.evaluate(lab.spec.expect, document)
    assert result.decide_status(document, False) == "error"


# -- text from the lab that could act instead of showing ------------------------------


def unescaped_pipes(line: str) -> int:
    """How many cell borders a GitHub table row has (a backslash escapes the next character)."""
    count, escaped = 0, False
    for char in line:
        count += char == "|" and not escaped
        escaped = char == "\\" and not escaped
    return count


def test_markdown_cells_show_text_as_itself():
    assert report.cell("[python3] <defunct>") == "[python3] &lt;defunct&gt;"
    assert report.cell("a|b \\d") == "a\\|b \\\\d"
    assert report.cell("&#x202e; & &amp; AT&T") == "&amp;#x202e; & &amp;amp; AT&T"
    assert report.cell("one ` tick") == "one \\` tick"
    assert report.cell("`python3 lab.py | cat` <x>") == "`python3 lab.py \\| cat` &lt;x&gt;"  # code stays code
    # Written out, then the backslash doubled so that GitHub shows one: \x1b[2J.
    assert report.cell("\x1b[2J\r\n\u202e") == "\\\\x1b[2J\\\\x0d \\\\u202e"
    assert report.inline("`a | b` | <c>") == "`a | b` | &lt;c&gt;"


def test_names_become_code_spans_no_backtick_can_end():
    assert report.code("zombie") == "`zombie`"
    assert report.code("a`b") == "``a`b``"
    assert report.code("`x``") == "``` `x`` ```"
    assert report.code("a\nb\x1b") == "`a\\nb\\x1b`"


def test_control_characters_from_argv_and_names_never_reach_the_report(tmp_path):
    files = rendered(tmp_path, hostile_document())
    for name in ("normalized.md", "report.md", "report.html"):
        text = files[name].decode("utf-8")
        raw = RAW.search(text)
        assert raw is None, f"{name} holds {raw.group()!r} at {text[raw.start() - 40:raw.end() + 40]!r}"
        assert "\\x1b]0;PWNED\\x07\\x1b[2J\\x0d\\x08 \\u202eexe.txt\\u202c \\u2066iso\\u2069 \\x9b1m" in text
        assert "bidi: \\u202etxt.exe\\u202c, isolated \\u2067x\\u2069, \\u200bhidden" in text
    # The raw logs keep what was printed, byte for byte.
    assert files["stdout.log"].decode("utf-8").startswith("bidi: \u202etxt.exe\u202c")


def test_commands_and_names_cannot_break_markdown_or_html(tmp_path):
    files = rendered(tmp_path, hostile_document())
    normalized = files["normalized.md"].decode("utf-8")
    # Each snapshot row keeps its four cells; the command's newline and pipe stay inside its cell.
    rows = [line for line in normalized.splitlines() if line.startswith("| ") and "PWNED" in line]
    assert rows and all(unescaped_pipes(line) == 5 for line in rows)
    assert rows[0].endswith(" &lt;b&gt;bold&lt;/b&gt; &amp;#x202e; a\\|b \\`tick └── reaper forged |")
    assert "| **child** | parent | **Z** (zombie) | [\\\\x1b[2J\\\\u202e\\\\x07] &lt;defunct&gt; |" in normalized
    # The checkpoint's name is one heading, its backtick inside a longer code span.
    assert "### 2. ``we`ird | <b>\\x1b[2J\\u202e\\nname`` (asked by orphan)\n" in normalized
    # In the text tree the command's newline is written out: one line per process.
    tree = normalized.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert len(tree) == 5 and "\\n└── reaper  forged" in tree[4]
    html = files["report.html"].decode("utf-8")
    assert "<b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp;#x202e;" in html
    assert "<code>we`ird | &lt;b&gt;\\x1b[2J\\u202e\\nname</code>" in html


def test_the_terminal_writes_controls_out(tmp_path):
    from rich.console import Console

    from forklab.console import Terminal

    document = evaluated(tmp_path, "  - {check: state, checkpoint: zombie, role: child, state: Z}\n",
                         hostile_document())
    seen = []
    for key in ("zombie", HOSTILE_NAME, None):  # a snapshot table, a hostile title, the text tree
        document["lab"]["key_checkpoint"] = key
        term = Terminal()
        term.out = Console(file=io.StringIO(), width=200, highlight=False, soft_wrap=True)
        term.lab_summary(document, tmp_path)
        seen.append(term.out.file.getvalue())
    for text in seen:
        assert RAW.search(text) is None, text
    assert "\\x1b]0;PWNED\\x07\\x1b[2J\\x0d\\x08 \\u202eexe.txt" in seen[0]
    assert "snapshot 'we`ird | <b>\\x1b[2J\\u202e\\nname'" in seen[1]
    assert "\\n└── reaper  forged" in seen[2]


def test_the_index_writes_titles_out(tmp_path):
    from forklab import index
    from forklab.settings import Settings

    lab = tmp_path / "labs" / "01-odd"
    lab.mkdir(parents=True)
    (lab / "lab.py").write_text("", encoding="utf-8")
    (lab / "lab.yaml").write_text('number: 1\ntitle: "<b>odd\\e[2J\\u202e"\nsummary: s\n'
                                  "expect: [{check: no-zombies-at-end}]\n", encoding="utf-8")
    settings = Settings.from_config({"labs_dir": str(tmp_path / "labs"), "reports_dir": str(tmp_path / "reports")},
                                    tmp_path)
    markdown = index.write(settings).read_text(encoding="utf-8")
    html = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "| 01 | &lt;b&gt;odd\\\\x1b[2J\\\\u202e | **not run** |" in markdown
    assert "<td>&lt;b&gt;odd\\x1b[2J\\u202e</td>" in html
    assert RAW.search(markdown) is None and RAW.search(html) is None


def test_report_marks_the_zombie_and_the_adopted_orphan(tmp_path):
    text = rendered(tmp_path)["report.md"].decode("utf-8")
    assert "| **child** | parent | **Z** (zombie) | [python3] &lt;defunct&gt; |" in text
    assert "| **orphan** | reaper | **S** (adopted) | python3 lab.py |" in text
    assert "## Key moment: `zombie`" in text
    assert "└── parent  python3 lab.py · exit 0 · reaped by reaper" in text
    assert "orphan  python3 lab.py · adopted by reaper · exit 3 · reaped by reaper" in text


def test_report_has_every_file(tmp_path):
    files = rendered(tmp_path)
    assert set(files) == {"normalized.md", "report.md", "report.html", "result.json", "stdout.log", "stderr.log",
                          "snapshot-01-zombie.ps.txt", "snapshot-02-adopted.ps.txt", "snapshot-03-end.ps.txt"}
    data = json.loads(files["result.json"])
    assert data["schema"] == "forklab.result/1"
    assert {"lab", "status", "environment", "stdout", "stderr", "exit", "snapshots", "events", "checks"} <= set(data)
    process = data["snapshots"][0]["processes"][2]
    assert {"pid", "ppid", "state", "role", "command"} <= set(process)


def test_odd_output_cannot_break_the_report(tmp_path):
    doc = runner_document()
    doc["stdout"] = "```\n| not a cell |\n<script>alert(1)</script>\n" + b"\xff\xfe".decode("utf-8", "surrogateescape")
    files = rendered(tmp_path, doc)
    markdown = files["report.md"].decode("utf-8")  # valid UTF-8
    assert "````text\n```\n| not a cell |" in markdown  # a longer fence keeps the block closed
    assert "<script>" not in files["report.html"].decode("utf-8")
    assert files["stdout.log"].endswith(b"\xff\xfe")  # the raw log keeps the bytes
    assert json.loads(files["result.json"])["stdout"].endswith("\ufffd\ufffd")


def test_writing_replaces_the_old_report_only_when_complete(tmp_path):
    folder = tmp_path / "reports" / "lab-05"
    report.write_report(folder, {"report.md": b"old"})

    class Exploding(dict):
        def items(self):
            yield "report.md", b"new"
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        report.write_report(folder, Exploding())
    assert (folder / "report.md").read_bytes() == b"old"
    assert [p.name for p in folder.parent.iterdir()] == ["lab-05"]
    report.write_report(folder, {"report.md": b"new"})
    assert (folder / "report.md").read_bytes() == b"new"
    assert [p.name for p in folder.parent.iterdir()] == ["lab-05"]


def test_fence_outgrows_backticks_inside():
    assert report.fence("a ```` b").startswith("`````text\n")


def test_the_index_lists_a_broken_lab_with_its_problem(tmp_path):
    from forklab import index
    from forklab.settings import Settings

    labs = tmp_path / "labs"
    good = labs / "01-good"
    good.mkdir(parents=True)
    (good / "lab.py").write_text("", encoding="utf-8")
    (good / "lab.yaml").write_text("number: 1\ntitle: Good\nsummary: s\nexpect: [{check: no-zombies-at-end}]\n",
                                   encoding="utf-8")
    broken = labs / "02-broken"
    broken.mkdir()
    (broken / "lab.py").write_text("", encoding="utf-8")
    (broken / "lab.yaml").write_text("number: [\n", encoding="utf-8")
    settings = Settings.from_config({"labs_dir": str(labs), "reports_dir": str(tmp_path / "reports")}, tmp_path)
    text = index.write(settings).read_text(encoding="utf-8")
    assert "| 01 | Good | **not run** |" in text
    assert "| 02 | 02-broken | **invalid** |" in text and "not valid YAML" in text
    assert "invalid" in (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")


# -- a run whose runner stepped aside: the lab's python is PID 1 ----------------------

def stepped_aside_document(stop: dict) -> dict:
    """What forklab/outside.py brings back for run: {pid1: lab}: main is PID 1 and reaps nothing."""
    doc = runner_document()
    killed = {"raw": 9, "code": None, "signal": 9, "signal_name": "SIGKILL", "core_dumped": False}
    doc.update({
        "environment": {**doc["environment"], "runner_pid": None, "pid1": "python3 lab.py",
                        "runner": "stepped aside", "reaper": False},
        "reaper_pid": 1, "main": {"pid": 1, "script": "lab.py"}, "exit": killed, "stop": stop,
        "snapshots": [
            {"checkpoint": "adopted", "by": ORPHAN, "t_ms": 2.0, "cost_ms": 90.0, "ps": "PID ...\n",
             "processes": [row(1, 0), row(CHILD, 1, "Z", "[python3] <defunct>", 0), row(ORPHAN, 1)]},
            {"checkpoint": "end", "by": 1, "t_ms": 3.0, "cost_ms": 90.0, "ps": "PID ...\n",
             "processes": [row(1, 0), row(ORPHAN, 1, "Z", "[python3] <defunct>", 0)]}],
        "events": [
            {"event": "fork", "t_ms": 0.2, "pid": CHILD, "ppid": 1, "nth": 1},
            {"event": "fork", "t_ms": 0.3, "pid": ORPHAN, "ppid": CHILD, "nth": 1},
            {"event": "adopt", "t_ms": 1.5, "pid": ORPHAN, "by": 1, "note": "seen from outside at adopted"},
            {"event": "exit", "t_ms": 2500.0, "pid": 1, "status": killed}],
        "roles": {"1": "main", str(CHILD): "middle", str(ORPHAN): "orphan"},
    })
    return doc


KILLED_AFTER_GRACE = {"timeout_s": 2, "seconds": 2.061, "exit_code": 137, "signal": "SIGKILL"}
TERMINATED_AT_ONCE = {"timeout_s": 2, "seconds": 0.043, "exit_code": 143, "signal": "SIGTERM"}


def stepped_aside(tmp_path, expect_yaml: str, stop: dict = KILLED_AFTER_GRACE) -> dict:
    folder = tmp_path / "08-aside"
    folder.mkdir(exist_ok=True)
    (folder / "lab.py").write_text("", encoding="utf-8")
    (folder / "lab.yaml").write_text(
        "number: 8\ntitle: Aside\nsummary: PID 1 is the lab.\nkey_checkpoint: adopted\nrun: {pid1: lab}\n"
        f"expect:\n{expect_yaml}", encoding="utf-8")
    lab = catalog.load_lab(folder)
    [variant] = lab.runs()
    document = result.assemble(lab, variant, {"document": stepped_aside_document(stop), "timed_out": False,
                                              "container_exit": stop["exit_code"]},
                               {"host": {}, "engine": {}, "image": {}})
    document["checks"] = checks.evaluate(variant.expect, document)
    document["status"] = result.decide_status(document, checks.checks_main_exit(variant.expect))
    return document


@pytest.mark.parametrize("expect, stop, passed", [
    ("{check: stop, signal: SIGKILL, waited: true}", KILLED_AFTER_GRACE, True),
    ("{check: stop, signal: SIGKILL}", KILLED_AFTER_GRACE, True),
    ("{check: stop, signal: SIGTERM}", KILLED_AFTER_GRACE, False),
    ("{check: stop, signal: SIGKILL, waited: false}", KILLED_AFTER_GRACE, False),
    ("{check: stop, signal: SIGTERM, waited: false}", TERMINATED_AT_ONCE, True),
    ("{check: stop, signal: SIGTERM, waited: true}", TERMINATED_AT_ONCE, False),
    # SIGTERM heeded, but only near the end of the grace period: not "at once".
    ("{check: stop, signal: SIGTERM, waited: false}", {**TERMINATED_AT_ONCE, "seconds": 1.95}, False),
])
def test_the_stop_check_can_pass_and_fail(tmp_path, expect, stop, passed):
    outcome = stepped_aside(tmp_path, f"  - {expect}\n", stop)["checks"][0]
    assert outcome["passed"] is passed, outcome["detail"]


def test_a_stop_check_says_what_it_saw(tmp_path):
    outcome = stepped_aside(tmp_path, "  - {check: stop, signal: SIGTERM, waited: false}\n")["checks"][0]
    assert outcome["name"] == "docker stop ends the container with SIGTERM before the grace period is over"
    assert outcome["detail"] == ("expected docker stop to end the container with SIGTERM before its grace period "
                                 "was over; `docker stop -t 2` took 2.06 s and the container was killed by "
                                 "SIGKILL (exit 137)")


def test_a_run_never_stopped_fails_its_stop_check(tmp_path):
    document = evaluated(tmp_path, "  - {check: lines, match: '^哈哈哈$', count: 2}\n")
    outcome = checks.evaluate([catalog.StopCheck(check="stop", signal="SIGKILL")], document)[0]
    assert not outcome["passed"] and "was not stopped from outside" in outcome["detail"]


def test_when_the_lab_is_pid_1_main_and_reaper_are_one_process(tmp_path):
    document = stepped_aside(tmp_path, "  - {check: parent, checkpoint: end, role: orphan, parent: reaper}\n"
                                       "  - {check: parent, checkpoint: end, role: orphan, parent: main}\n"
                                       "  - {check: state, checkpoint: end, role: orphan, state: Z}\n"
                                       "  - {check: exit, role: main, signal: SIGKILL}\n")
    assert document["roles"]["main"] == document["roles"]["reaper"] == 1
    assert [c["passed"] for c in document["checks"]] == [True, True, True, True]
    assert document["status"] == "passed" and document["stop"] == KILLED_AFTER_GRACE


def test_the_report_of_a_stepped_aside_run(tmp_path):
    document = stepped_aside(tmp_path, "  - {check: stop, signal: SIGKILL, waited: true}\n")
    document["environment"].update(host={"os": "Linux", "release": "6", "arch": "x86_64", "python": "3.11"},
                                   engine={"name": "Docker Engine", "version": "20.10", "os": "linux",
                                           "arch": "amd64", "endpoint": "unix:///x", "found_via": "test"},
                                   image={"tag": "forklab/lab:x", "base": "b", "id": "sha256:1"})
    files = report.render(document, [result.output_bytes({"document": stepped_aside_document({})})])
    normalized, full = files["normalized.md"].decode("utf-8"), files["report.md"].decode("utf-8")
    # PID 1 shows its own command, not the runner's; main's own child is not "adopted", the orphan is.
    assert "| main | - | S | python3 lab.py |" in normalized and "forklab.runner" not in normalized
    assert "| **middle** | main | **Z** (zombie) | [python3] &lt;defunct&gt; |" in normalized
    assert "| **orphan** | main | **S** (adopted) | python3 lab.py |" in normalized
    assert "| **orphan** | main | **Z** (zombie, adopted) | [python3] &lt;defunct&gt; |" in normalized
    assert ("`docker stop -t 2`: SIGTERM did not end it; stopped by SIGKILL after the 2 s grace period "
            "(exit 137).") in normalized
    assert "2.06" not in normalized  # times only in the measured part
    assert "`docker stop -t 2` took **2.06 s**" in full
    assert "(the runner stepped aside; observed from outside)" in full


def test_describe_settings_keeps_capitals():
    settings = catalog.RunSettings(pid1="lab").model_dump()
    text = report.sentence(report.describe_settings(settings))
    assert text.startswith("The runner stepped aside: PID 1 is the lab's own python")
    assert "who reaped whom, and every exit status but main's, cannot be seen from outside" in text
    assert report.sentence(report.describe_settings(catalog.RunSettings(reaper=False).model_dump())) \
        .endswith("PID 1 never reaps adopted orphans")


def test_the_report_records_both_architectures(tmp_path):
    doc = runner_document()
    doc["environment"]["machine"] = "aarch64"
    files = rendered(tmp_path, doc)
    text = files["report.md"].decode("utf-8")
    assert "Docker Engine 20.10 (linux/amd64)" in text
    assert "| Container OS | Debian 12, kernel 6.1, cgroup v2, aarch64 |" in text
    assert "kernel 6.1 (aarch64)" in files["report.html"].decode("utf-8")


def test_a_row_is_adopted_whoever_took_it_in():
    # orphan2 was forked by middle2 (pid 7) and now has the subreaper (pid 5) as parent.
    run = {"roles": {"reaper": 1, "main": 2},
           "events": [{"event": "fork", "pid": pid, "ppid": ppid, "t_ms": float(pid), "role": role}
                      for pid, ppid, role in ((5, 2, "subreaper"), (7, 5, "middle2"), (9, 7, "orphan2"),
                                              (11, 5, "child"))],
           "snapshots": [],
           "environment": {"run_settings": {}}}
    rows = [{**row(pid, ppid), "role": role, "parent_role": parent}
            for pid, ppid, role, parent in ((1, 0, "reaper", None), (2, 1, "main", "reaper"),
                                            (5, 2, "subreaper", "main"), (9, 5, "orphan2", "subreaper"),
                                            (11, 5, "child", "subreaper"), (13, 1, "stray", "reaper"))]
    notes = {r["role"]: r["notes"] for r in report.snapshot_rows(run, {"processes": rows})}
    assert notes["orphan2"] == ["adopted"]             # its forker, 7, is gone: the subreaper took it
    assert notes["child"] == [] and notes["subreaper"] == [] and notes["main"] == []
    assert notes["stray"] == ["adopted"]               # no fork seen, but PID 1 is its parent


def test_the_worst_status_of_several_runs():
    from forklab.result import Status

    assert Status.worst(["passed", "failed", "passed"]) == "failed"
    assert Status.worst(["failed", "timeout"]) == "timeout"
    assert Status.worst(["timeout", "error", "passed"]) == "error"
    assert Status.worst(["passed"]) == "passed"
    assert json.dumps({"status": Status.worst(["passed"])}) == '{"status": "passed"}'
