"""Normalization and pictures, on small documents made here (no engine)."""

from __future__ import annotations

import re
from html import escape

import pytest

from forklab import normalize, pictures
from tests.support import (
    CHILD,
    MAIN,
    ORPHAN,
    RAW,
    RUNNER,
    evaluated,
    hostile_document,
    rendered,
    row,
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


def test_every_pattern_is_applied_to_every_line():
    # The first pattern matches the line, and so does the second, further on:
    # both pids become roles (once, only the first pattern's was).
    patterns = [r"^child (\d+) says", r"parent is (\d+)$"]
    text = f"child {CHILD} says its parent is {MAIN}"
    assert normalize.output(text, patterns, NAMES) == "child {pid:child} says its parent is {pid:parent}"
    # One pattern, every match on the line.
    assert normalize.output(f"[{CHILD}] [{MAIN}] [99999]", [r"\[(\d+)\]"], NAMES) == \
        "[{pid:child}] [{pid:parent}] [99999]"
    # Two patterns that take the same digits: the pid is replaced once.
    assert normalize.output(f"pid {CHILD}", [r"pid (\d+)", r"(\d+)"], NAMES) == "pid {pid:child}"


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
    assert "section orphan" in gantt and re.search(r"^    alive [\d.]+ ms–[\d.]+ ms :", gantt, re.M)


def test_a_parent_that_reaped_its_child_is_named(tmp_path):
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n")
    lines = pictures.text_tree(document)
    child = next(line for line in lines if "child " in line or line.strip().startswith(("├── child", "└── child")))
    # Seen as the parent's zombie at one checkpoint and gone at the next while the parent lived.
    assert "zombie at checkpoint `zombie`" in child and "reaped by parent" in child


@pytest.mark.parametrize("text, shown", [
    ("\x1b]0;PWNED\x07\x1b[2J", "\\x1b]0;PWNED\\x07\\x1b[2J"),  # a window title, a cleared screen
    ("abc\rX\x08\x00\x7f", "abc\\x0dX\\x08\\x00\\x7f"),
    ("\x85 \x9b31m", "\\x85 \\x9b31m"),  # C1 controls: NEL, and CSI, which some terminals obey
    ("txt\u202eexe.bat", "txt\\u202eexe.bat"),  # shows as "txttab.exe" when not written out
    ("\u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200e\u200f\u061c",
     "\\u202a\\u202b\\u202c\\u202d \\u2066\\u2067\\u2068\\u2069 \\u200e\\u200f\\u061c"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("pass\u200bword \ufeff \u2060 \u00ad \u3164", "pass\\u200bword \\ufeff \\u2060 \\xad \\u3164"),
    ("a\u200db", "a\\u200db"),  # a joiner between letters hides there
    ("\ufe0f\u2764\ufe0f\ufe0f", "\\ufe0f\u2764\ufe0f\\ufe0f"),  # a selector with nothing to select
    ("ok\U000e0049\U000e0047\U000e004e", "ok\\U000e0049\\U000e0047\\U000e004e"),  # invisible tag letters
    ("\udcff", "\\udcff"),  # a lone surrogate, which UTF-8 cannot encode
])
def test_controls_bidi_and_invisible_characters_are_written_out(text, shown):
    assert normalize.visible(text) == shown
    assert normalize.visible(shown) == shown  # written out once: a second pass changes nothing


@pytest.mark.parametrize("text", [
    "我是子进程8,我的父进程是7\n僵尸进程\t✓ ✗ 「状态」　全角",
    "😀 👩\u200d💻 \u2764\ufe0f \u2764\ufe0f\u200d\U0001f525 \U0001f408\u200d\u2b1b 👍🏽 1\ufe0f\u20e3",
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland's flag
    "葛\U000e0100",  # a variant of a Chinese character
])
def test_chinese_text_and_emoji_stay_as_they_are(text):
    assert normalize.visible(text) == text


def test_one_line_writes_newlines_and_tabs_out_too():
    assert normalize.one_line("a\nb\tc\x1b") == "a\\nb\\tc\\x1b"
    assert normalize.visible("a\nb\tc") == "a\nb\tc"


def test_pictures_write_hostile_commands_and_names_out(tmp_path):
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n", hostile_document())
    processes = len(pictures.lives(document)[1])
    tree = pictures.text_tree(document)
    assert len(tree) == processes  # a newline in argv cannot add a branch
    assert any("\\x1b]0;PWNED\\x07" in line and "\\n└── reaper  forged" in line for line in tree)
    mermaid = pictures.mermaid_tree(document)
    # One statement a line; the name's quote-free, tag-free, reference-free label stays in its node.
    assert all(line == "flowchart TD" or line.startswith("    ") for line in mermaid.splitlines())
    assert "zombie at checkpoints `zombie`, `we`ird | ‹b›\\x1b[2J\\u202e\\nname`" in mermaid
    assert all(line.startswith(("gantt", "    ")) for line in pictures.mermaid_timeline(document).splitlines())
    svg = pictures.svg_tree(document) + pictures.svg_timeline(document)
    assert "PWNED\\x07" in svg and "&lt;b&gt;bold&lt;/b&gt; &amp;#x202e;" in svg and "<b>" not in svg
    for text in (*tree, mermaid, pictures.mermaid_timeline(document), svg):
        assert RAW.search(text) is None
    assert "<title>we`ird | &lt;b&gt;\\x1b[2J\\u202e\\nname at " in svg  # a checkpoint on the timeline


# -- lives drawn from evidence -----------------------------------------------------------------

SUB, MID2, ORPHAN2, KID = 20, 21, 22, 23


def snap(name: str, t: float, rows: list[dict], by: int = MAIN) -> dict:
    return {"checkpoint": name, "by": by, "t_ms": t, "rows_ms": [t, t + 0.2], "cost_ms": 5.0, "ps": "PID ...\n",
            "processes": rows}


def run_of(tmp_path, snapshots: list[dict], events: list[dict], roles: dict[int, str], **settings) -> dict:
    """A run made of the given snapshots and events (main is MAIN, the reaper RUNNER)."""
    doc = runner_document()
    doc["snapshots"], doc["events"] = snapshots, events
    doc["roles"] = {str(pid): role for pid, role in {RUNNER: "reaper", MAIN: "main", **roles}.items()}
    doc["environment"].update(settings)
    return evaluated(tmp_path, "  - {check: no-zombies-at-end}\n", doc)


def fork(pid: int, ppid: int, t: float, nth: int = 1) -> dict:
    return {"event": "fork", "t_ms": t, "pid": pid, "ppid": ppid, "nth": nth}


def main_reaped(t: float) -> list[dict]:
    ok = {"raw": 0, "code": 0, "signal": None, "signal_name": None}
    return [{"event": "exit", "t_ms": t, "pid": MAIN, "status": ok, "alive_ms": t - 1},
            {"event": "reap", "t_ms": t, "pid": MAIN, "by": RUNNER}]


def span_kinds(document: dict, role: str) -> list[tuple[str, float, float]]:
    reaper, found = pictures.lives(document)
    [one] = [one for one in found.values() if one.role == role]
    return [(s.kind, s.start, s.end) for s in pictures.spans(one, pictures._run_end(document, found))]


def test_children_waited_for_one_by_one_each_end_before_the_next_fork(tmp_path):
    # Lab 07's shape: main forks, waits, forks again; the runner's looks saw each
    # child running, then gone, and it noticed the gone one only after the next fork.
    events = [fork(MAIN, RUNNER, 0.1)]
    for n, pid in enumerate((30, 31, 32), start=1):
        born = 10.0 * n
        events += [fork(pid, MAIN, born, n),
                   {"event": "gone", "t_ms": born + 12, "pid": pid, "seen_ms": born + 2, "state": "R",
                    "ppid": MAIN, "alive_ms": born + 2, "ppid_alive": True}]
    events += main_reaped(45.0)
    document = run_of(tmp_path, [snap("end", 50.0, [row(RUNNER, 0, "R")], by=RUNNER)], events, {})
    for n in (1, 2):
        running = [s for s in span_kinds(document, f"main.{n}") if s[0] == "running"]
        next_fork = 10.0 * (n + 1)
        assert running and running[-1][2] < next_fork, f"main.{n} is drawn running past main.{n + 1}'s fork"
    for n in (1, 2, 3):
        kinds = span_kinds(document, f"main.{n}")
        # Then, hatched: it exited and was reaped somewhere before the look that found it gone.
        assert [k for k, _, _ in kinds] == ["running", "exiting"] and kinds[-1][2] == 10.0 * n + 12
    assert all("reaped (by whom not seen)" in line for line in pictures.text_tree(document)[2:])


def test_the_never_reaped_orphan_ends_as_a_zombie(tmp_path):
    # pid1-never-waits: the runner adopts the orphan and never waits; the end snapshot shows its zombie.
    events = [fork(MAIN, RUNNER, 0.1), fork(CHILD, MAIN, 1.0), fork(ORPHAN, CHILD, 2.0),
              {"event": "gone", "t_ms": 9.0, "pid": CHILD, "seen_ms": 4.0, "state": "S", "ppid": MAIN,
               "alive_ms": 4.0, "ppid_alive": True},
              {"event": "adopt", "t_ms": 6.0, "pid": ORPHAN, "by": RUNNER, "from": CHILD, "state": "S"},
              {"event": "zombie", "t_ms": 30.0, "pid": ORPHAN, "ppid": RUNNER, "alive_ms": 25.0}] + main_reaped(20.0)
    snapshots = [snap("adopted", 10.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(ORPHAN, RUNNER)]),
                 snap("end", 40.0, [row(RUNNER, 0, "R"), row(ORPHAN, RUNNER, "Z", "[python3] <defunct>", 0)],
                      by=RUNNER)]
    document = run_of(tmp_path, snapshots, events, {CHILD: "middle", ORPHAN: "orphan"})
    kinds = span_kinds(document, "orphan")
    assert [k for k, _, _ in kinds] == ["running", "exiting", "zombie"]
    end = pictures._run_end(document, pictures.lives(document)[1])
    assert kinds[-1][1] == 30.0 and kinds[-1][2] == end, "a zombie from its first sighting to the end"
    [line] = [line for line in pictures.text_tree(document) if "orphan" in line]
    assert line.endswith("adopted by reaper · zombie at checkpoint `end` · never reaped (still a zombie at the end)")
    svg = pictures.svg_timeline(document)
    assert re.search(r'<g class="life" data-role="orphan">.*?class="never">never reaped</text>', svg)


def test_with_sigchld_ignored_who_reaped_is_not_seen(tmp_path):
    # Lab 08 part 3: the checkpoints see the child running, then gone; the kernel reaped it,
    # and main, though its parent and alive, never had a zombie to collect.
    events = [fork(MAIN, RUNNER, 0.1), fork(KID, MAIN, 1.0),
              {"event": "gone", "t_ms": 8.0, "pid": KID, "seen_ms": 5.2, "state": "S", "ppid": MAIN,
               "alive_ms": 5.2, "ppid_alive": True}] + main_reaped(20.0)
    snapshots = [snap("ignoring-sigchld", 5.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(KID, MAIN)], by=KID),
                 snap("after-child-exit", 10.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER)]),
                 snap("end", 30.0, [row(RUNNER, 0, "R")], by=RUNNER)]
    document = run_of(tmp_path, snapshots, events, {KID: "child"})
    [line] = [line for line in pictures.text_tree(document) if "child" in line]
    assert line.endswith("child  python3 lab.py · reaped (by whom not seen)")
    assert "reaped by main" not in pictures.mermaid_tree(document)
    [gone] = [e for e in document["events"] if e["event"] == "gone"]
    assert gone["note"] == ("gone from the table; last seen alive (S) at 5.2 ms (parent main): "
                            "it exited and was reaped in between")


def sigchld_run(tmp_path, waits: dict[int, list[int]]) -> dict:
    """Lab 08 part 3's looks, with the fork hook's notes: ``waits`` is whose wait() returned which children."""
    events = [fork(MAIN, RUNNER, 0.1), fork(KID, MAIN, 1.0), fork(SUB, MAIN, 1.5, nth=2),
              {"event": "gone", "t_ms": 8.0, "pid": KID, "seen_ms": 5.2, "state": "S", "ppid": MAIN,
               "alive_ms": 5.2, "ppid_alive": True}] + main_reaped(20.0)
    snapshots = [snap("ignoring-sigchld", 5.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(KID, MAIN),
                                                row(SUB, MAIN)], by=KID),
                 snap("after-child-exit", 10.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(SUB, MAIN)]),
                 snap("end", 30.0, [row(RUNNER, 0, "R")], by=RUNNER)]
    doc = runner_document()
    doc["snapshots"], doc["events"] = snapshots, events
    doc["roles"] = {str(pid): role for pid, role in {RUNNER: "reaper", MAIN: "main", KID: "child",
                                                      SUB: "sibling"}.items()}
    doc["stdout"] = ""
    doc["writers"] = {"processes": [
        {"pid": MAIN, "start": "exec", "ppid": RUNNER, "events": [["r", pid] for pid in waits.get(MAIN, [])]},
        {"pid": KID, "start": "fork", "ppid": MAIN, "nth": 1, "at": 0, "events": []},
        {"pid": SUB, "start": "fork", "ppid": MAIN, "nth": 2, "at": 0,
         "events": [["r", pid] for pid in waits.get(SUB, [])]}], "unreadable": 0}
    return evaluated(tmp_path, "  - {check: no-zombies-at-end}\n", doc)


@pytest.mark.parametrize(("waits", "words", "chinese"), [
    ({MAIN: [KID]}, "reaped by main", "由 main 回收"),
    ({}, "reaped (by whom not seen)", "已被回收(没有看到由谁回收)"),
    # Only its parent can reap it: another process's note is not believed...
    ({SUB: [KID]}, "reaped (by whom not seen)", "已被回收(没有看到由谁回收)"),
    # ...and two notes of one child say nothing for sure.
    ({MAIN: [KID], SUB: [KID]}, "reaped (by whom not seen)", "已被回收(没有看到由谁回收)"),
], ids=["its parent's wait returned it", "no note", "a note from another process", "two notes"])
def test_who_reaped_a_process_seen_alive_then_gone_is_its_parent_s_own_note(tmp_path, waits, words, chinese):
    document = sigchld_run(tmp_path, waits)
    [line] = [line for line in pictures.text_tree(document) if " child  " in line]
    assert line.endswith(f"child  python3 lab.py · {words}")
    assert f'["child<br/>{words}"]' in pictures.mermaid_tree(document)
    [line] = [line for line in pictures.text_tree(document, "zh") if " child  " in line]
    assert line.endswith(f"child  python3 lab.py · {chinese}")
    assert f'["child<br/>{chinese}"]' in pictures.mermaid_tree(document, "zh")


def test_the_trees_notes_are_in_the_report_s_language(tmp_path):
    document = subreaper_run(tmp_path)
    [english] = [line for line in pictures.text_tree(document) if "orphan2" in line]
    [chinese] = [line for line in pictures.text_tree(document, "zh") if "orphan2" in line]
    assert english.endswith("orphan2  python3 lab.py · adopted by subreaper · zombie at checkpoint `orphan2-zombie` "
                            "· reaped by subreaper")
    assert chinese.endswith("orphan2  python3 lab.py · 被 subreaper 收养 · 在检查点 `orphan2-zombie` 时是僵尸进程 "
                            "· 由 subreaper 回收")
    svg = pictures.svg_tree(document, "zh")
    assert "<title>subreaper 收养了 orphan2</title>" in svg and "PID 1,回收者" in svg
    assert not re.search(r"adopted by|reaped|zombie at|exit \d", svg)
    # Adopted twice: each adoption in the language's own order of words.
    life = pictures.Life(pid=5, role="x", adoptions=[pictures.Adoption(by="main", by_pid=7, t_ms=1.0),
                                                     pictures.Adoption(by="reaper", by_pid=1, t_ms=2.0)])
    assert life.notes() == ["adopted by main, then by reaper"]
    assert life.notes("zh") == ["被 main 收养,然后被 reaper 收养"]


def subreaper_run(tmp_path, adopt_event: bool = True) -> dict:
    """Lab 08 part 2: subreaper forks middle2, which forks orphan2 and dies; the subreaper adopts it."""
    events = [fork(MAIN, RUNNER, 0.1), fork(SUB, MAIN, 1.0), fork(MID2, SUB, 2.0), fork(ORPHAN2, MID2, 3.0)]
    if adopt_event:
        events.append({"event": "adopt", "t_ms": 5.0, "pid": ORPHAN2, "by": SUB, "from": MID2, "state": "S"})
    events += main_reaped(40.0)
    snapshots = [snap("adopted-by-subreaper", 10.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(SUB, MAIN),
                                                      row(MID2, SUB, "Z", "[python3] <defunct>", 0),
                                                      row(ORPHAN2, SUB)], by=ORPHAN2),
                 snap("orphan2-zombie", 20.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(SUB, MAIN),
                                               row(ORPHAN2, SUB, "Z", "[python3] <defunct>", 0)], by=SUB),
                 snap("subreaper-reaped", 30.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(SUB, MAIN)], by=SUB),
                 snap("end", 50.0, [row(RUNNER, 0, "R")], by=RUNNER)]
    return run_of(tmp_path, snapshots, events, {SUB: "subreaper", MID2: "middle2", ORPHAN2: "orphan2"})


@pytest.mark.parametrize("adopt_event", [True, False], ids=["runner saw it", "only the snapshots show it"])
def test_the_subreaper_s_orphan_is_marked_adopted_by_the_subreaper(tmp_path, adopt_event):
    document = subreaper_run(tmp_path, adopt_event)
    [line] = [line for line in pictures.text_tree(document) if "orphan2" in line]
    assert "adopted by subreaper" in line and line.endswith("reaped by subreaper")
    mermaid = pictures.mermaid_tree(document)
    ids = dict(re.findall(r'^    (p\d+)\["(\w+)', mermaid, re.M))
    by_role = {role: node for node, role in ids.items()}
    assert f"    {by_role['subreaper']} -.->|adopts| {by_role['orphan2']}" in mermaid.splitlines()
    svg = pictures.svg_tree(document)
    assert '<path class="adopt"' in svg and "<title>subreaper adopted orphan2</title>" in svg
    [middle2] = [line for line in pictures.text_tree(document) if "middle2" in line]
    assert middle2.endswith("zombie at checkpoint `adopted-by-subreaper` · reaped by subreaper")


def test_main_as_a_subreaper_adopts_before_it_reaps(tmp_path):
    # A script whose main is a subreaper: "reaped by main" of a grandchild comes with its adoption.
    events = [fork(MAIN, RUNNER, 0.1), fork(CHILD, MAIN, 1.0), fork(ORPHAN, CHILD, 2.0),
              {"event": "adopt", "t_ms": 4.0, "pid": ORPHAN, "by": MAIN, "from": CHILD, "state": "S"}] \
        + main_reaped(40.0)
    snapshots = [snap("orphan-zombie", 10.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER),
                                              row(ORPHAN, MAIN, "Z", "[python3] <defunct>", 0)]),
                 snap("end", 50.0, [row(RUNNER, 0, "R")], by=RUNNER)]
    document = run_of(tmp_path, snapshots, events, {ORPHAN: "orphan"})
    [line] = [line for line in pictures.text_tree(document) if "orphan" in line]
    # The next snapshot no longer shows main: who reaped the zombie, main or an adopter after main died, is not known.
    assert "adopted by main" in line and line.endswith("reaped (by whom not seen)")
    snapshots.insert(1, snap("after-wait", 20.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER)]))
    document = run_of(tmp_path, snapshots, events, {ORPHAN: "orphan"})
    [line] = [line for line in pictures.text_tree(document) if "orphan" in line]
    assert "adopted by main" in line and line.endswith("reaped by main")


def test_the_trees_are_the_same_whatever_the_runner_s_looks_between_checkpoints_caught(tmp_path):
    # Two runs of lab 07 alike at their checkpoints: in one the runner happened to see
    # main.1 as main's zombie before it went, in the other only running.  The trees
    # are in the normalized report and must not differ; the timelines may.
    base = [fork(MAIN, RUNNER, 0.1), fork(30, MAIN, 1.0)] + main_reaped(40.0)
    caught = base + [{"event": "zombie", "t_ms": 3.0, "pid": 30, "ppid": MAIN, "alive_ms": 2.0},
                     {"event": "gone", "t_ms": 5.0, "pid": 30, "seen_ms": 4.0, "state": "Z", "ppid": MAIN,
                      "alive_ms": 2.0, "ppid_alive": True}]
    missed = base + [{"event": "gone", "t_ms": 5.0, "pid": 30, "seen_ms": 2.0, "state": "R", "ppid": MAIN,
                      "alive_ms": 2.0, "ppid_alive": True}]
    end = [snap("end", 50.0, [row(RUNNER, 0, "R")], by=RUNNER)]
    one, other = run_of(tmp_path, end, caught, {}), run_of(tmp_path, end, missed, {})
    assert pictures.text_tree(one) == pictures.text_tree(other)
    assert pictures.mermaid_tree(one) == pictures.mermaid_tree(other)
    assert [k for k, _, _ in span_kinds(one, "main.1")] == ["running", "exiting", "zombie", "reaping"]
    assert [k for k, _, _ in span_kinds(other, "main.1")] == ["running", "exiting"]


def test_a_zombie_starts_where_it_was_first_seen_not_at_the_next_snapshot(tmp_path):
    events = [fork(MAIN, RUNNER, 0.1), fork(CHILD, MAIN, 1.0),
              {"event": "zombie", "t_ms": 12.0, "pid": CHILD, "ppid": MAIN, "alive_ms": 11.0},
              {"event": "gone", "t_ms": 700.0, "pid": CHILD, "seen_ms": 600.0, "state": "Z", "ppid": MAIN,
               "alive_ms": 11.0, "ppid_alive": True}] + main_reaped(990.0)
    snapshots = [snap("zombie", 600.0, [row(RUNNER, 0, "R"), row(MAIN, RUNNER),
                                        row(CHILD, MAIN, "Z", "[python3] <defunct>", 0)]),
                 snap("end", 1000.0, [row(RUNNER, 0, "R")], by=RUNNER)]
    document = run_of(tmp_path, snapshots, events, {CHILD: "child"})
    assert span_kinds(document, "child") == [("running", 1.0, 11.0), ("exiting", 11.0, 12.0),
                                              ("zombie", 12.0, 600.0), ("reaping", 600.0, 700.0)]


def test_a_short_zombie_is_drawn_wide_enough_to_see_and_checkpoints_are_named(tmp_path):
    # 1 ms of zombie in a run of 1000 ms: an even scale would give it under a pixel.
    events = [fork(MAIN, RUNNER, 0.1), fork(CHILD, MAIN, 1.0),
              {"event": "zombie", "t_ms": 500.0, "pid": CHILD, "ppid": MAIN, "alive_ms": 499.5},
              {"event": "gone", "t_ms": 501.5, "pid": CHILD, "seen_ms": 501.0, "state": "Z", "ppid": MAIN,
               "alive_ms": 499.5, "ppid_alive": True}] + main_reaped(990.0)
    snapshots = [snap("zombie", 500.5, [row(RUNNER, 0, "R"), row(MAIN, RUNNER),
                                        row(CHILD, MAIN, "Z", "[python3] <defunct>", 0)]),
                 snap("end", 1000.0, [row(RUNNER, 0, "R")], by=RUNNER)]
    document = run_of(tmp_path, snapshots, events, {CHILD: "child"})
    svg = pictures.svg_timeline(document)
    child = re.search(r'<g class="life" data-role="child">(.*?)</g>', svg).group(1)
    widths = {kind: float(width) for kind, width in re.findall(r'<rect class="(\w+)" x="[\d.]+" y="[\d.]+" '
                                                               r'width="([\d.]+)"', child)}
    assert widths["zombie"] >= pictures.LEAST_SPAN and widths["exiting"] >= pictures.LEAST_SPAN
    assert re.findall(r'class="checkpoint-name"[^>]*>([^<]*)<', svg) == ["zombie", "end"]
    assert "the scale is uneven" in svg, "a widened span is said to be so"


def test_tree_notes_are_written_in_full_however_long(tmp_path):
    names = [f"a-rather-long-checkpoint-name-{n}" for n in range(6)]
    events = [fork(MAIN, RUNNER, 0.1), fork(CHILD, MAIN, 1.0)] + main_reaped(90.0)
    snapshots = [snap(name, 10.0 + n, [row(RUNNER, 0, "R"), row(MAIN, RUNNER),
                                       row(CHILD, MAIN, "Z", "[python3] <defunct>", 0)])
                 for n, name in enumerate(names)]
    snapshots.append(snap("end", 100.0, [row(RUNNER, 0, "R")], by=RUNNER))
    document = run_of(tmp_path, snapshots, events, {CHILD: "child"})
    svg = pictures.svg_tree(document)
    child = re.search(r'<g class="process zombie" data-role="child">(.*?)</g>', svg).group(1)
    shown = " ".join(re.findall(r'class="note">([^<]*)<', child))
    assert "…" not in svg
    for name in names:
        assert f"`{name}`" in shown, f"{name} was cut from the tree's note"


def test_the_repeat_chart_keeps_the_words_that_tell_the_lines_apart():
    from forklab import repeat

    parent = "我是父进程<built-in function getpid>,我创建了子进程{pid:main.1}"
    child = "我是子进程<built-in function getpid>,我的父进程是<built-in function getppid>"
    svg = repeat.svg_bars([{"text": parent, "count": 11}, {"text": child, "count": 9}], 20)
    assert f">{escape(parent)}<" in svg and f">{escape(child)}<" in svg and "…" not in svg
    assert ">11 / 20<" in svg and ">9 / 20<" in svg
    said = repeat.counted(outputs=1, trees=1, runs=20, sorted_lines=True)
    assert said.startswith("1 distinct whole output(s) in 20 runs") and "sorted before comparing" in said
    assert "sorted" not in repeat.counted(outputs=2, trees=1, runs=20, sorted_lines=False)


def test_the_pictures_own_words_have_chinese_forms_with_the_same_values(tmp_path):
    import string

    from forklab import repeat

    def fields(text: str) -> set:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for table in (pictures.ZH, repeat.ZH):
        for english, chinese in table.items():
            assert fields(english) == fields(chinese) and re.search(r"[\u4e00-\u9fff]", chinese), english
    # The timeline's legend and the Gantt chart's names are in the report's language.
    document = subreaper_run(tmp_path)
    assert "僵尸进程" in pictures.svg_timeline(document, "zh") and "僵尸进程" not in pictures.svg_timeline(document)
    assert "section 检查点" in pictures.mermaid_timeline(document, "zh")
