"""Normalization and pictures, on small documents made here (no engine)."""

from __future__ import annotations

import re

import pytest

from forklab import normalize, pictures
from tests.test_checks_and_report import (
    CHILD,
    MAIN,
    ORPHAN,
    RAW,
    RUNNER,
    evaluated,
    hostile_document,
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


def test_every_pattern_is_applied_to_every_line():
    # The first pattern matches the line, and so does the second, further on:
    # both pids become roles (once, only the first pattern's was).
    patterns = [r"^child (\d+) says", r"parent is (\d+)$"]
    text = f"child {CHILD} says its parent is {MAIN}"
    assert normalize.output(text, patterns, NAMES) == "child {pid:child} says its parent is {pid:parent}"
    # One pattern, every match on the line.
    assert normalize.output(f"[{CHILD}] [{MAIN}] [99999]", [r"\[(\d+)\]"], NAMES) == "[{pid:child}] [{pid:parent}] [99999]"
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
    assert "section orphan" in gantt and "running :" in gantt


def test_a_parent_that_reaped_its_child_is_named(tmp_path):
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n")
    lines = pictures.text_tree(document)
    child = next(line for line in lines if "child " in line or line.strip().startswith(("├── child", "└── child")))
    assert "zombie at zombie" in child and "reaped by parent" in child


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
    assert "zombie at we`ird | ‹b›\\x1b[2J\\u202e\\nname" in mermaid
    assert all(line.startswith(("gantt", "    ")) for line in pictures.mermaid_timeline(document).splitlines())
    svg = pictures.svg_tree(document) + pictures.svg_timeline(document)
    assert "PWNED\\x07" in svg and "&lt;b&gt;bold&lt;/b&gt; &amp;#x202e;" in svg and "<b>" not in svg
    for text in (*tree, mermaid, pictures.mermaid_timeline(document), svg):
        assert RAW.search(text) is None
    assert "<title>we`ird | &lt;b&gt;\\x1b[2J\\u202e\\nname at " in svg  # a checkpoint on the timeline
