"""reports/index.md and index.html from a reports folder made here (no engine): totals, chips, links, odd input."""

from __future__ import annotations

import calendar
import json
import os
import re
from pathlib import Path

import pytest

from forklab import index
from forklab.settings import Settings

#: Control characters that must never reach a report raw (ESC, BEL, a bidi override, ...).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

HOSTILE = "<script>alert(1)</script>\x1b[2J\x07\u202e|`x"


def lab_folder(labs: Path, number: int, title: str) -> None:
    folder = labs / f"{number:02d}-lab"
    folder.mkdir(parents=True)
    (folder / "lab.py").write_text("", encoding="utf-8")
    (folder / "lab.yaml").write_text(f"number: {number}\ntitle: {json.dumps(title)}\nsummary: s\n"
                                     "expect: [{check: no-zombies-at-end}]\n", encoding="utf-8")


def result(number: int, status: str, passed: int, total: int, claims=(), title: str = "A lab", kind: str = "lab",
           **extra) -> dict:
    """A result.json with what the index reads: the lab (its claims), the status, the checks."""
    return {"schema": "forklab.result/1", "status": status,
            "lab": {"number": number, "kind": kind, "title": title, "claims": [
                {"id": f"c{i}", "en": en, "zh": zh, "verdict": verdict} for i, (en, zh, verdict) in enumerate(claims)]},
            "checks": [{"name": f"check {i}", "passed": i < passed} for i in range(total)],
            "environment": {"host": {"os": "Linux", "release": "6", "arch": "x86_64"},
                            "engine": {"name": "Docker Engine", "version": "28"},
                            "image": {"tag": "forklab/lab:x", "base": "b"},
                            "container": {"kernel": "6", "python": "3.11", "os": "Debian"}}, **extra}


def at(text: str) -> float:
    return float(calendar.timegm(tuple(map(int, re.split(r"[- :]", text))) + (0, 0, 0)))


def save(reports: Path, name: str, document, written: str = "2026-01-02 03:04:05") -> Path:
    folder = reports / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    os.utime(path, (at(written), at(written)))
    return folder


@pytest.fixture
def course(tmp_path) -> Settings:
    """Labs 01 to 03 (02 with a hostile title), 01 passed, 02 failed, 03 not run."""
    labs = tmp_path / "labs"
    lab_folder(labs, 1, "Fork returns")
    lab_folder(labs, 2, HOSTILE)
    lab_folder(labs, 3, "Not run yet")
    reports = tmp_path / "reports"
    save(reports, "lab-01", result(1, "passed", 3, 3, claims=[
        ("fork returns twice", "fork 返回两次", "true"),
        ("the zombie is the parent", "僵尸进程是父进程", "false"),
        ("the child copies everything", "子进程复制一切", "partly")]), "2026-01-02 03:04:05")
    save(reports, "lab-02", result(2, "failed", 1, 2, title=HOSTILE, claims=[
        (HOSTILE, HOSTILE, "<b>maybe</b>")]), "2026-01-05 06:07:08")
    return Settings.from_config({"labs_dir": str(labs), "reports_dir": str(reports)}, tmp_path, "en")


def written(settings: Settings) -> tuple[str, str]:
    markdown = index.write(settings).read_text(encoding="utf-8")
    return markdown, (settings.reports_dir / "index.html").read_text(encoding="utf-8")


def test_the_totals_and_the_time_the_reports_were_made(course):
    markdown, html = written(course)
    assert markdown.startswith("# forklab reports\n\n**1 of 3 labs passed** · 1 did not pass · 1 not run · "
                               "4 of 5 checks passed\n\nReports made from 2026-01-02 03:04 UTC to "
                               "2026-01-05 06:07 UTC.\n")
    assert '<li class="passed"><strong>1</strong>of 3 labs passed</li>' in html
    assert '<li class="failed"><strong>1</strong>did not pass</li>' in html
    assert '<li class="not-run"><strong>1</strong>not run</li>' in html
    assert "<li><strong>4</strong>of 5 checks passed</li>" in html
    assert "Reports made from 2026-01-02 03:04 UTC to 2026-01-05 06:07 UTC." in html


def test_one_time_when_every_report_was_made_in_the_same_minute(course):
    os.utime(course.reports_dir / "lab-02" / "result.json", (at("2026-01-02 03:04:50"),) * 2)
    markdown, _ = written(course)
    assert "\nReports made 2026-01-02 03:04 UTC.\n" in markdown


def test_no_report_yet(tmp_path):
    lab_folder(tmp_path / "labs", 1, "Alone")
    settings = Settings.from_config({"labs_dir": str(tmp_path / "labs"), "reports_dir": str(tmp_path / "r")},
                                    tmp_path, "en")
    markdown, html = written(settings)
    assert "**0 of 1 labs passed** · 0 did not pass · 1 not run · 0 of 0 checks passed" in markdown
    assert "\nNo lab has a report yet: run `invoke report`.\n" in markdown
    assert "## Repeated runs" not in markdown and "<h2>Repeated" not in html and "Left out" not in markdown


def test_each_claim_is_a_chip_with_its_verdict(course):
    markdown, html = written(course)
    assert ("| 01 | [Fork returns](lab-01/report.md) | **passed** | 3 of 3 | fork returns twice → **true**<br>"
            "the zombie is the parent → **false**<br>the child copies everything → **partly** |") in markdown
    assert '<span class="chip true">true</span>fork returns twice</li>' in html
    assert '<span class="chip false">false</span>the zombie is the parent</li>' in html
    assert '<span class="chip partly">partly</span>the child copies everything</li>' in html
    # A verdict that is none of the three gets the neutral chip, its text escaped.
    assert '<span class="chip other">&lt;b&gt;maybe&lt;/b&gt;</span>' in html
    assert "| 03 | Not run yet | **not run** |  | - |" in markdown


def test_the_chinese_index_quotes_the_tutorial_and_says_the_verdicts_in_chinese(course):
    zh = Settings(course.labs_dir, course.reports_dir, course.base_image, course.mirror, "zh")
    markdown, html = written(zh)
    assert "僵尸进程是父进程 → **错误**" in markdown and "fork 返回两次 → **正确**" in markdown
    assert '<span class="chip false">错误</span>僵尸进程是父进程</li>' in html
    assert '<html lang="zh-CN">' in html and "<title>forklab 报告</title>" in html


def other_reports(reports: Path) -> None:
    save(reports, "lab-01-repeat", result(1, "passed", 3, 3, title="Fork returns", repeat={
        "count": 20, "chaos": {"seed": 7, "max_ms": 20.0},
        "variants": [{"variant": "default", "runs": 20, "statuses": {"passed": 19, "failed": 1}}]}))
    save(reports, "run-fork-bomb", result(0, "timeout", 0, 1, title="fork_bomb.py", kind="run"))
    save(reports, "run-a b(c)", result(0, "passed", 1, 1, title="a b(c).py", kind="run"))
    save(reports, "puzzle-10", result(0, "passed", 7, 7, title="puzzle 10", kind="run"))
    folder = save(reports, "puzzle-4", result(0, "failed", 6, 7, title="puzzle 4", kind="run"))
    (folder / "puzzle.md").write_text("# Puzzle\n", encoding="utf-8")
    save(reports, "check-13", result(13, "failed", 2, 4, title="Reap in order", kind="check",
                                     score={"earned": 8, "total": 16}, check={"submission": "mine.py"}))


def test_the_other_reports_each_have_a_section_with_status_and_link(course):
    other_reports(course.reports_dir)
    markdown, html = written(course)
    sections = re.findall(r"^## (.*)$", markdown, re.M)
    assert sections == ["Repeated runs (`invoke lab N --repeat`)", "Scripts (`invoke run`)",
                        "Puzzles (`invoke puzzle`)", "Exercise checks (`invoke check N`)",
                        "Where the reports were made"]
    assert ("| lab-01-repeat | [Fork returns](lab-01-repeat/report.md) | **failed** |" not in markdown)
    assert ("| lab-01-repeat | [Fork returns](lab-01-repeat/report.md) | **passed** | "
            "19 of 20 runs passed · chaos seed 7 |") in markdown
    assert "| run-fork-bomb | [fork_bomb.py](run-fork-bomb/report.md) | **timeout** | 0 of 1 |" in markdown
    # A folder's name is a link that works: quoted, in Markdown and in HTML.
    assert "[a b(c).py](run-a%20b%28c%29/report.md)" in markdown
    assert '<a href="run-a%20b%28c%29/report.html">a b(c).py</a>' in html
    # Puzzles in the order of their seeds; a puzzle's own page where there is one.
    assert markdown.index("| puzzle-4 |") < markdown.index("| puzzle-10 |")
    assert "[puzzle 4](puzzle-4/puzzle.md)" in markdown and "[puzzle 10](puzzle-10/report.md)" in markdown
    assert '<a href="puzzle-4/report.html">puzzle 4</a>' in html
    assert ("| check-13 | [Reap in order](check-13/report.md) · mine.py | **failed** | 8 of 16 points |"
            in markdown)
    assert '<span class="status timeout">timeout</span>' in html


def test_only_the_sections_with_reports_are_shown(course):
    save(course.reports_dir, "check-14", result(14, "passed", 1, 1, title="Zombie", kind="check",
                                               score={"earned": 3, "total": 3}))
    (course.reports_dir / "run-empty-folder").mkdir()  # no result.json: left out, with a note
    (course.reports_dir / "notes").mkdir()  # not a report: not mentioned
    markdown, html = written(course)
    assert re.findall(r"^## (.*)$", markdown, re.M) == ["Exercise checks (`invoke check N`)", "Left out",
                                                         "Where the reports were made"]
    assert "- run-empty-folder/result.json: there is no such file; the report is left out" in markdown
    assert "<h2>Scripts" not in html and "<h2>Puzzles" not in html and "notes" not in markdown


def test_hostile_titles_and_names_are_written_out(course):
    folder = save(course.reports_dir, "run-x", result(0, "passed", 1, 1, title=HOSTILE + ".py", kind="run"))
    folder.rename(course.reports_dir / "run-<i>\x1b[2J")
    save(course.reports_dir, "check-13", result(13, "<img src=x>", 0, 1, title=HOSTILE, kind="check",
                                               score={"earned": 0, "total": 1},
                                               check={"submission": "<b>\x1b]0;PWNED\x07.py"}))
    markdown, html = written(course)
    for text in (markdown, html):
        assert RAW.search(text) is None
        assert "<script>" not in text and "<img" not in text and "<i>" not in text and "<b>" not in text
    assert "\\x1b[2J" in html and "\\u202e" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="run-%3Ci%3E%1B%5B2J/report.html">' in html
    assert '<span class="status other">&lt;img src=x&gt;</span>' in html  # an unknown status: no class of its own
    # The hostile title's pipe and backtick cannot break the table.
    row = next(line for line in markdown.splitlines() if line.startswith("| 02 |"))
    assert row.count(" | ") == 4, row


def test_a_corrupt_result_json_is_left_out_with_a_note(course):
    other_reports(course.reports_dir)
    save(course.reports_dir, "lab-01", "{not json")
    save(course.reports_dir, "run-fork-bomb", "[1, 2]")
    save(course.reports_dir, "puzzle-4", b"\xff\xfe".decode("latin-1"))
    save(course.reports_dir, "check-13", json.dumps({"status": "passed", "lab": {}, "checks": ["x"]}))
    markdown, html = written(course)
    assert "| 01 | Fork returns | **not run** |" in markdown
    assert "**0 of 3 labs passed** · 1 did not pass · 2 not run · 1 of 2 checks passed" in markdown
    notes = markdown.split("## Left out\n\n")[1].split("\n\n")[0].splitlines()
    assert notes == ["- lab-01/result.json: not valid JSON; the report is left out",
                     "- check-13/result.json: not a forklab result; the report is left out",
                     "- puzzle-4/result.json: not valid JSON; the report is left out",
                     "- run-fork-bomb/result.json: not a forklab result; the report is left out"]
    assert "<li>lab-01/result.json: not valid JSON; the report is left out</li>" in html
    assert "| puzzle-10 |" in markdown and "run-fork-bomb |" not in markdown


def test_a_result_json_that_is_not_what_it_should_be_in_its_depths_is_left_out(course):
    save(course.reports_dir, "lab-01", json.dumps({"status": "passed", "lab": {"claims": "x"}, "checks": [],
                                                   "variants": [1], "environment": {"host": 3}}))
    save(course.reports_dir, "lab-01-repeat", json.dumps({"status": "passed", "lab": {}, "checks": [],
                                                          "repeat": {"variants": [{"runs": "many"}]}}))
    markdown, _ = written(course)
    assert "- lab-01/result.json: not a forklab result; the report is left out" in markdown
    assert "- lab-01-repeat/result.json: not a forklab result; the report is left out" in markdown


def test_the_markdown_tables_render_as_tables(course):
    markdown_it = pytest.importorskip("markdown_it")
    other_reports(course.reports_dir)
    markdown, _ = written(course)
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)
    assert html.count("<table>") == 5
    assert "<script>" not in html
    # Every row of every table has as many cells as its header.
    for table in re.findall(r"<table>(.*?)</table>", html, re.S):
        widths = {len(re.findall(r"<t[hd][ >]", row)) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)}
        assert len(widths) == 1, widths


def test_rows_read_ahead_give_the_same_index_and_the_running_lab_is_read_at_the_end(course):
    # `invoke lab 3` reads the other labs' rows while lab 3 runs; lab 3's own is read when its report is in.
    prepared = index.prepare(course, {3})
    save(course.reports_dir, "lab-03", result(3, "failed", 1, 2), "2026-01-03 00:00:00")
    index.write(course, prepared)
    ahead = {name: (course.reports_dir / name).read_bytes() for name in ("index.md", "index.html")}
    index.write(course)
    assert ahead == {name: (course.reports_dir / name).read_bytes() for name in ("index.md", "index.html")}
    assert "| 03 | [" in ahead["index.md"].decode("utf-8") and "**failed**" in ahead["index.md"].decode("utf-8")
    assert set(number for number, _ in prepared.rows()) == {1, 2}
