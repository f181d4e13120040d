"""`invoke grade N SUBMISSIONS`: grade a class's programs for exercise N.

SUBMISSIONS is a folder with one entry per student, named after the student:

* a folder: the program is its only ``.py`` file; where there are several, the
  one named as the grader expects: the exercise's working-copy name
  (``13-reap-in-order.py``, the file `invoke check` makes), ``solution.py`` or
  ``main.py`` (exactly one of them);
* a ``.py`` file: the program itself, the student's name is the file's less ``.py``.

Hidden entries (``.DS_Store``, ``.git``) and ``__MACOSX`` are passed over, in
SUBMISSIONS and in each folder; any other file in SUBMISSIONS is ignored and
named.  Each program is graded as `invoke check` grades one (the same sandbox,
checks, points and hidden checks), ``jobs`` containers at a time, and each
student is written as soon as they are graded, whole or not at all, to
``reports/grade-NN/STUDENT/``: the report, ``results.json`` in Gradescope's
format and ``grade.json`` (the student's gradebook row).  A later call skips
the students whose ``grade.json`` was made from the same program, exercise
and options (unless ``again``), so an interrupted grade goes on where it
stopped.  At the end ``gradebook.csv`` and ``summary.md`` are written from
every student of SUBMISSIONS.

A submission that cannot be run (an empty folder, no or two programs, a
binary, a symbolic link out of its folder, a file too big, a name that is not
UTF-8) is a row with its reason and score 0, never an error.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import stat
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from forklab import catalog, checks, commands, exercises, i18n, report, result
from forklab.console import Terminal, shown
from forklab.errors import ForklabError, UsageError
from forklab.interrupts import Terminated
from forklab.normalize import one_line
from forklab.settings import Settings

#: What a student's row says of their submission (data: the same words in every language).
GRADED, NO_CREDIT, BAD, ERROR = "graded", "no credit", "bad submission", "error"

#: What each problem is called in the summary; the key is grade.json's ``problem``.
PROBLEMS = {
    # Not run at all.
    "empty-folder": "an empty folder",
    "no-program": "no .py file",
    "several-programs": "several .py files",
    "two-submissions": "a folder and a .py file of one name",
    "link-out": "a symbolic link out of the folder",
    "not-a-file": "not a regular file",
    "too-big": "a file too big",
    "binary": "a binary file",
    "name-not-utf8": "a name that is not UTF-8",
    "unreadable": "a file that cannot be read",
    # Run, and nothing counts.
    "does-not-parse": "does not parse",
    "timeout": "still running at the timeout",
    "pids-limit": "reached the pids limit",
    "could-not-run": "could not be run",
    # Run; what passed before counts.
    "crashed": "crashed",
    "killed": "killed by a signal",
    "out-of-memory": "ran out of memory",
    "output-cut": "printed past the output limit",
    # The grader's side.
    "engine": "the engine failed",
}

#: Files of the grade folder beside the students' folders; a student of one of these names gets "NAME~2".
GRADEBOOK, SUMMARY = "gradebook.csv", "summary.md"
#: A student's gradebook row, kept in their folder.
ROW_FILE = "grade.json"
GRADESCOPE_FILE = "results.json"
#: Entries passed over in SUBMISSIONS and in each student's folder.
PASSED_OVER = ("__MACOSX",)
#: The names a program in a student's folder may have when there are several .py files.
PLAIN_NAMES = ("solution.py", "main.py")
#: Gradescope's visibilities a hidden check may have.
HIDDEN_VISIBILITIES = ("after_published", "hidden")
#: Cells a spreadsheet would run as a formula when they start with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Bumped when grade.json's meaning changes, so an older one is graded again.
FORMAT = "forklab-grade-1"


@dataclass
class Submission:
    """One student's entry in SUBMISSIONS, found and checked before anything runs."""

    student: str
    #: The student's folder under the grade folder (``student``, made unique).
    folder: str = ""
    #: The program to run (None when there is none to run).
    path: Optional[Path] = None
    #: The program's path inside SUBMISSIONS, as the gradebook shows it.
    shown_path: str = ""
    problem: Optional[str] = None
    reason: Optional[str] = None
    #: A digest of the program and the exercise it is graded against.
    fingerprint: str = ""


# -- finding the submissions ------------------------------------------------------------

def _text_name(name: str) -> tuple[str, bool]:
    """(a file name as text, whether it is UTF-8): a name that is not keeps its bytes as \\xNN."""
    try:
        name.encode("utf-8")
        return name, True
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace"), False


def _kib(count: int) -> str:
    return f"{-(-count // 1024)} KiB"


def discover(root: Path, lab: catalog.Lab, _: i18n.Translate) -> tuple[list[Submission], list[str]]:
    """The students of SUBMISSIONS in name order, each with its program or the reason it has none,
    and the names of the entries that are no student's (files other than .py)."""
    try:
        names = sorted(os.listdir(root))
    except OSError as exc:
        raise UsageError(f"{root}: cannot be read ({exc.strerror}); give a folder you may read") from None
    real_root = Path(os.path.realpath(root))
    found: dict[str, list[Submission]] = {}
    ignored = []
    for name in names:
        if name.startswith(".") or name in PASSED_OVER:
            continue
        path = root / name
        text, utf8 = _text_name(name)
        try:
            info = os.lstat(path)
        except OSError as exc:
            found.setdefault(text, []).append(Submission(text, problem="unreadable", reason=_(
                "{file} cannot be read ({error})", file=text, error=exc.strerror)))
            continue
        student = text[:-3] if name.endswith(".py") and not stat.S_ISDIR(info.st_mode) else text
        if stat.S_ISLNK(info.st_mode):
            target = Path(os.path.realpath(path))
            if target != real_root and real_root not in target.parents:
                found.setdefault(student, []).append(Submission(student, shown_path=text, problem="link-out", reason=_(
                    "{file} is a symbolic link out of the submissions folder", file=text)))
                continue
            try:
                info = os.stat(path)
            except OSError as exc:
                found.setdefault(student, []).append(Submission(student, shown_path=text, problem="unreadable",
                                                                reason=_("{file} cannot be read ({error})",
                                                                         file=text, error=exc.strerror)))
                continue
        if stat.S_ISDIR(info.st_mode):
            student = text
            entry = _in_folder(path, text, lab, _)
        elif name.endswith(".py"):
            entry = _program(path, text, real_root, _)
        else:
            ignored.append(text)
            continue
        entry.student = student
        if not utf8:
            entry = Submission(student, shown_path=entry.shown_path, problem="name-not-utf8", reason=_(
                "the name {name} is not UTF-8; rename it", name=text))
        found.setdefault(student, []).append(entry)
    submissions = []
    for student, entries in found.items():
        if len(entries) > 1:
            submissions.append(Submission(student, problem="two-submissions", reason=_(
                "{student} has both a folder and a .py file; keep one", student=student)))
        else:
            submissions.append(entries[0])
    _name_folders(submissions)
    return sorted(submissions, key=lambda s: s.student), ignored


def _in_folder(folder: Path, student: str, lab: catalog.Lab, _: i18n.Translate) -> Submission:
    """A student's folder: its one program, or why there is none to run."""
    try:
        names = sorted(n for n in os.listdir(folder) if not n.startswith(".") and n not in PASSED_OVER)
    except OSError as exc:
        return Submission(student, problem="unreadable", reason=_("{file} cannot be read ({error})",
                                                                  file=student + "/", error=exc.strerror))
    if not names:
        return Submission(student, problem="empty-folder", reason=_("the folder is empty"))
    programs = [n for n in names if n.endswith(".py")]
    if not programs:
        held = ", ".join(_text_name(n)[0] for n in names[:5]) + (", ..." if len(names) > 5 else "")
        return Submission(student, problem="no-program", reason=_("no .py file in the folder (it holds {names})",
                                                                 names=held))
    if len(programs) > 1:
        expected = [f"{lab.folder}.py", *PLAIN_NAMES]
        preferred = [n for n in expected if n in programs]
        if len(preferred) != 1:
            return Submission(student, problem="several-programs", reason=_(
                "{count} .py files ({names}): keep one, or name the one to grade {expected}",
                count=len(programs), names=", ".join(_text_name(n)[0] for n in programs),
                expected=_(" or ").join(expected)))
        programs = preferred
    return _program(folder / programs[0], f"{student}/{_text_name(programs[0])[0]}",
                    Path(os.path.realpath(folder)), _)


def _program(path: Path, shown_path: str, inside: Path, _: i18n.Translate) -> Submission:
    """A program file, checked as `invoke check` checks one: a regular file inside its folder, UTF-8 named,
    at most catalog.MAX_SCRIPT_BYTES, without NUL bytes."""
    def bad(problem: str, reason: str) -> Submission:
        return Submission("", shown_path=shown_path, problem=problem, reason=reason)

    if not _text_name(path.name)[1]:
        return bad("name-not-utf8", _("the name {name} is not UTF-8; rename it", name=shown_path))
    target = Path(os.path.realpath(path))
    if target != inside and inside not in target.parents:
        return bad("link-out", _("{file} is a symbolic link out of the student's folder", file=shown_path))
    try:
        info = os.stat(target)
        if not stat.S_ISREG(info.st_mode):
            return bad("not-a-file", _("{file} is not a regular file", file=shown_path))
        if info.st_size > catalog.MAX_SCRIPT_BYTES:
            return bad("too-big", _("{file} is {size}, more than a program may be ({limit})", file=shown_path,
                                    size=_kib(info.st_size), limit=_kib(catalog.MAX_SCRIPT_BYTES)))
        with open(target, "rb") as handle:
            source = handle.read(catalog.MAX_SCRIPT_BYTES + 1)
    except OSError as exc:
        return bad("unreadable", _("{file} cannot be read ({error})", file=shown_path, error=exc.strerror))
    if len(source) > catalog.MAX_SCRIPT_BYTES:
        return bad("too-big", _("{file} is more than a program may be ({limit})", file=shown_path,
                                limit=_kib(catalog.MAX_SCRIPT_BYTES)))
    if b"\0" in source:
        return bad("binary", _("{file} is not a program's text (it holds NUL bytes)", file=shown_path))
    return Submission("", path=path, shown_path=shown_path,
                      fingerprint=hashlib.sha256(path.name.encode("utf-8") + b"\0" + source).hexdigest())


#: The longest folder name a student gets, in bytes: the report is built beside it under a longer
#: name (.NAME.new-1234abcd), and file systems refuse names over 255 bytes.
MAX_FOLDER_BYTES = 200


def _name_folders(submissions: list[Submission]) -> None:
    """Each student's folder under the grade folder: their name, made unique even where case is not
    told apart; a very long name is cut and ends with a digest of the whole."""
    taken = {GRADEBOOK.casefold(), SUMMARY.casefold()}
    for submission in sorted(submissions, key=lambda s: s.student):
        plain = submission.student
        if len(plain.encode("utf-8")) > MAX_FOLDER_BYTES:
            cut = plain.encode("utf-8")[:MAX_FOLDER_BYTES - 20].decode("utf-8", "ignore")
            plain = f"{cut}~{hashlib.sha256(plain.encode('utf-8')).hexdigest()[:12]}"
        name, number = plain, 1
        while name.casefold() in taken:
            number += 1
            name = f"{plain}~{number}"
        taken.add(name.casefold())
        submission.folder = name


# -- what each row holds --------------------------------------------------------------------

def expected_checks(lab: catalog.Lab, lang: str) -> list[dict]:
    """Every check of the exercise, in lab.yaml's order (variant by variant): {name, points, hidden}.

    Names are as a run's document names them; hidden checks keep their own name
    here (the summary is the instructor's) and are "hidden check K" for students.
    """
    runs = lab.runs()
    plain = len(runs) == 1 and runs[0].name == "default"
    _ = i18n.translator(lang)
    every, hidden = [], 0
    for run in runs:
        for expectation in run.expect:
            name = checks.sentence(expectation, lang)
            item = {"name": name if plain else f"[{run.name}] {name}", "points": getattr(expectation, "points", 1),
                    "hidden": bool(getattr(expectation, "hidden", False))}
            if item["hidden"]:
                hidden += 1
                item["shown_as"] = _("hidden check {number}", number=hidden)
            every.append(item)
    return every


def exercise_digest(lab: catalog.Lab, data: list[tuple[str, bytes]]) -> bytes:
    """What a grade depends on besides the program: lab.yaml, the exercise's files, the run settings."""
    digest = hashlib.sha256(FORMAT.encode())
    digest.update(catalog.read_file(lab.path / "lab.yaml", Path(os.path.realpath(lab.path)),
                                    catalog.MAX_LAB_YAML_BYTES))
    for name, content in sorted(data):
        digest.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(content).digest())
    digest.update(json.dumps([run.settings.model_dump() for run in lab.runs()], sort_keys=True).encode())
    return digest.digest()


def _run_problem(document: dict) -> Optional[str]:
    """The kind of what went wrong in a graded run, in the order exercises.why looks (None: nothing)."""
    for run in document.get("variants") or [document]:
        limits = (run["environment"].get("container") or {}).get("limits") or {}
        peak = run.get("peak_processes")
        if peak and limits.get("pids") and peak >= limits["pids"]:
            return "pids-limit"
        if run["status"] == "timeout":
            return "timeout"
        if run["runner"]["status"] != "finished":
            return "could-not-run"
    if not document["check"]["counted"]:
        return "does-not-parse"
    for run in document.get("variants") or [document]:
        status = run.get("exit") or {}
        if run.get("oom_kills"):
            return "out-of-memory"
        if status.get("signal"):
            return "killed"
        if status.get("code"):
            return "crashed"
        if any(run["truncated"].values()):
            return "output-cut"
    return None


def row_of_run(submission: Submission, document: dict, original: list[dict], seconds: float) -> dict:
    """A graded program's row: its score, and each check's points in lab.yaml's order."""
    graded = document["check"]
    counted = graded["counted"]
    return {"format": FORMAT, "student": submission.student, "submission": submission.shown_path,
            "status": GRADED if counted else NO_CREDIT, "problem": _run_problem(document),
            "reason": graded["reason"], "score": document["score"]["earned"], "total": document["score"]["total"],
            "checks": [{"passed": c["passed"], "points": c.get("points", 1), "hidden": bool(c.get("hidden")),
                        "earned": c.get("points", 1) if c["passed"] and counted else 0} for c in original],
            "fingerprint": submission.fingerprint, "seconds": round(seconds, 3)}


def row_not_run(submission: Submission, expected: list[dict], status: str = BAD) -> dict:
    """The row of a submission that did not run: score 0, its checks empty."""
    return {"format": FORMAT, "student": submission.student, "submission": submission.shown_path or None,
            "status": status, "problem": submission.problem, "reason": submission.reason, "score": 0,
            "total": sum(c["points"] for c in expected),
            "checks": [{"passed": None, "points": c["points"], "hidden": c["hidden"], "earned": None}
                       for c in expected],
            "fingerprint": submission.fingerprint, "seconds": 0.0}


def gradescope(row: dict, expected: list[dict], details: Optional[list[dict]], _: i18n.Translate,
               hidden_visibility: str = "after_published") -> dict:
    """Gradescope's results.json for one student: score, max_score, output and one test per check.

    ``details`` are the run's checks in lab.yaml's order (None when nothing
    ran).  A hidden check is "hidden check K" with ``hidden_visibility`` and
    says nothing but passed or failed; a check that passed in a run that does
    not count scores 0 and says so.
    """
    tests = []
    counted = row["status"] == GRADED
    for index, check in enumerate(expected):
        outcome = row["checks"][index] if index < len(row["checks"]) else {"passed": None, "earned": None}
        earned = outcome["earned"] or 0
        if check["hidden"]:
            name, output, visibility = check["shown_as"], "", hidden_visibility
        else:
            name, visibility = check["name"], "visible"
            if details is None:
                output = _("not run: {reason}", reason=row["reason"])
            else:
                detail = details[index]
                lines = [detail.get("detail") or ""]
                if not detail["passed"] and detail.get("hint"):
                    lines.append(_("hint: {hint}", hint=detail["hint"]))
                if detail["passed"] and not counted:
                    lines.append(_("it passed but does not count: {reason}", reason=row["reason"]))
                output = "\n".join(line for line in lines if line)
        tests.append({"name": name, "score": earned, "max_score": check["points"],
                      "status": "passed" if outcome["passed"] and counted else "failed",
                      "output": output, "visibility": visibility})
    lines = [_("score: {earned} of {total} points", earned=row["score"], total=row["total"])]
    if row["reason"]:
        lines.append(row["reason"] + ("" if counted or row["status"] != NO_CREDIT else " " + _("(so no check counts)")))
    hidden = [t for t in tests if t["visibility"] != "visible"]
    if hidden and details is not None:
        lines.append(_("hidden checks: {passed} of {total} passed",
                       passed=sum(1 for c in row["checks"] if c["hidden"] and c["passed"]), total=len(hidden)))
    return {"score": row["score"], "max_score": row["total"], "output": "\n".join(lines), "tests": tests}


def assess(program: catalog.Lab, submission: Submission, records: list, environment: dict) -> tuple:
    """A student's runs, as the engine brought them back ((variant, record) each), made into
    (their row, their report's files, their checks in lab.yaml's order with what each saw).

    The checks are those of `invoke check`, in the language ``environment["lang"]``.
    """
    runs, outputs = [], []
    for variant, record in records:
        runs.append(commands.checked(program, variant, record, environment))
        outputs.append(result.output_bytes(record))
    document = result.combine(runs)
    original = [dict(c) for c in document["checks"]]
    assert program.script_name is not None, "a student's program is loaded under its script name (_load)"
    exercises.grade(document, program.script_name, i18n.of(document))
    document["check"]["student"] = submission.student
    files = report.render(document, outputs)
    seconds = sum(record.get("duration_ms", 0) for _, record in records) / 1000
    return row_of_run(submission, document, original, seconds), files, original


def _short_report(row: dict, lab: catalog.Lab, _: i18n.Translate) -> bytes:
    """report.md of a submission that did not run: who, what and why."""
    title = _("Grade · exercise {number:02d} · {student}", number=lab.number, student=row["student"])
    lines = [f"# {_md(title)}", "", f"**{_md(row['reason'] or '')}**", "",
             _("score: {earned} of {total} points", earned=0, total=row["total"]), ""]
    return "\n".join(lines).encode("utf-8")


def _json(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# -- the gradebook and the summary -----------------------------------------------------------

def _cell(value):
    """A gradebook cell: text a spreadsheet would take for a formula starts with ' instead."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def gradebook_csv(rows: list[dict], expected: list[dict]) -> bytes:
    """gradebook.csv: student, score, total, status, reason, then one column per visible check
    (the points it earned; empty when the program did not run), UTF-8, quoted by the csv module."""
    visible = [(index, check) for index, check in enumerate(expected) if not check["hidden"]]
    headers, seen = [], set()
    for _, check in visible:
        name, number = check["name"], 1
        while name in seen:
            number += 1
            name = f"{check['name']} ({number})"
        seen.add(name)
        headers.append(name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(text) for text in ["student", "score", "total", "status", "reason", *headers]])
    for row in rows:
        cells = [row["student"], row["score"], row["total"], row["status"], row["reason"]]
        for index, _ in visible:
            outcome = row["checks"][index] if index < len(row["checks"]) else {"earned": None}
            cells.append(outcome["earned"])
        writer.writerow([_cell(value) for value in cells])
    return out.getvalue().encode("utf-8")


def summarize(rows: list[dict], expected: list[dict]) -> dict:
    """The numbers of summary.md and the terminal: counts, the histogram, the most-failed checks, the problems."""
    total = sum(c["points"] for c in expected)
    statuses = {status: sum(1 for r in rows if r["status"] == status) for status in (GRADED, NO_CREDIT, BAD, ERROR)}
    scores = [r["score"] for r in rows if r["status"] != ERROR]
    if total <= 20:
        bins = [(score, score) for score in range(total, -1, -1)]
    else:
        width = -(-(total + 1) // 10)
        bins = [(low, min(low + width - 1, total)) for low in range(0, total + 1, width)][::-1]
    histogram = [{"low": low, "high": high, "count": sum(1 for s in scores if low <= s <= high)} for low, high in bins]
    ran = [r for r in rows if r["status"] == GRADED]
    failed = []
    for index, check in enumerate(expected):
        count = sum(1 for r in ran if index < len(r["checks"]) and not r["checks"][index]["passed"])
        if count:
            failed.append({"name": check["name"], "hidden": check["hidden"], "points": check["points"],
                           "failed": count, "of": len(ran)})
    failed.sort(key=lambda item: -item["failed"])
    problems: dict = {}
    for row in rows:
        if row["status"] != GRADED and row["problem"]:
            problems[row["problem"]] = problems.get(row["problem"], 0) + 1
    return {"students": len(rows), "total": total, "statuses": statuses, "histogram": histogram,
            "mean": statistics.fmean(scores) if scores else None,
            "median": statistics.median(scores) if scores else None,
            "full": sum(1 for s in scores if s == total), "failed": failed,
            "problems": sorted(problems.items(), key=lambda item: (-item[1], item[0])),
            "unrun": [r for r in rows if r["status"] != GRADED]}


def _md(text: str) -> str:
    """Text from a submission, safe in a Markdown table cell: one line, no markup."""
    text = one_line(text)
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def _bar(count: int, most: int, width: int = 30) -> str:
    return "█" * (round(count / most * width) if most else 0) or ("▏" if count else "")


def _score_label(bin_: dict) -> str:
    return str(bin_["low"]) if bin_["low"] == bin_["high"] else f"{bin_['low']}-{bin_['high']}"


def summary_md(numbers: dict, lab: catalog.Lab, _: i18n.Translate) -> bytes:
    lines = ["# " + _md(_("Grades · exercise {number:02d} · {title}", number=lab.number, title=lab.spec.title)), ""]
    lines += [_counts_line(numbers, _), ""]
    if numbers["mean"] is not None:
        lines += [_("mean {mean:.1f}, median {median:g} of {total} points; {full} with full marks",
                    mean=numbers["mean"], median=numbers["median"], total=numbers["total"], full=numbers["full"]), ""]
    most = max((b["count"] for b in numbers["histogram"]), default=0)
    lines += ["## " + _("Scores"), "", f"| {_('score')} | {_('students')} | |", "|---:|---:|---|"]
    lines += [f"| {_score_label(b)} | {b['count']} | {_bar(b['count'], most)} |" for b in numbers["histogram"]]
    lines += ["", "## " + _("Most-failed checks"), ""]
    if numbers["failed"]:
        lines += [f"| {_('check')} | {_('points')} | {_('failed')} |", "|---|---:|---:|"]
        lines += [f"| {_md(item['name'])}{' ' + _('(hidden)') if item['hidden'] else ''} | {item['points']} | "
                  + _("{failed} of {of}", failed=item["failed"], of=item["of"]) + " |" for item in numbers["failed"]]
    else:
        lines.append(_("No check failed in a program that ran to its end."))
    lines += ["", "## " + _("Submissions that earned nothing or were not graded"), ""]
    if numbers["unrun"]:
        lines += [f"| {_('problem')} | {_('students')} |", "|---|---:|"]
        lines += [f"| {_(PROBLEMS.get(code, code))} | {count} |" for code, count in numbers["problems"]]
        lines += ["", f"| {_('student')} | {_('status')} | {_('reason')} |", "|---|---|---|"]
        lines += [f"| {_md(r['student'])} | {_(r['status'])} | {_md(r['reason'] or '')} |" for r in numbers["unrun"]]
    else:
        lines.append(_("Every submission ran to its end."))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _counts_line(numbers: dict, _: i18n.Translate) -> str:
    statuses = numbers["statuses"]
    return _("{students} students: {graded} graded, {none} earned nothing, {bad} bad submission(s), "
             "{errors} not graded", students=numbers["students"], graded=statuses[GRADED], none=statuses[NO_CREDIT],
             bad=statuses[BAD], errors=statuses[ERROR])


def terminal_summary(term: Terminal, numbers: dict, lab: catalog.Lab, folder: Path) -> None:
    _ = term._
    out = term.out
    out.print("[bold]" + shown(_("Grades · exercise {number:02d} · {title}", number=lab.number,
                                 title=lab.spec.title)) + "[/bold]")
    out.print("  " + shown(_counts_line(numbers, _)))
    if numbers["mean"] is not None:
        out.print("  " + _("mean {mean:.1f}, median {median:g} of {total} points; {full} with full marks",
                           mean=numbers["mean"], median=numbers["median"], total=numbers["total"],
                           full=numbers["full"]))
    most = max((b["count"] for b in numbers["histogram"]), default=0)
    out.print("  " + _("scores:"))
    for bin_ in (b for b in numbers["histogram"] if b["count"]):  # the empty ones are in summary.md
        out.print(f"    {_score_label(bin_):>7} {bin_['count']:>4} [cyan]{_bar(bin_['count'], most, 40)}[/cyan]")
    if numbers["failed"]:
        out.print("  " + _("most-failed checks:"))
        for item in numbers["failed"][:5]:
            hidden = " " + _("(hidden)") if item["hidden"] else ""
            out.print("    [red]" + _("{failed} of {of}", failed=item["failed"], of=item["of"]) + "[/red]  "
                      + shown(item["name"]) + hidden)
    if numbers["problems"]:
        out.print("  " + _("earned nothing or not graded:") + " " + _(", ").join(
            f"{_(PROBLEMS.get(code, code))} {count}" for code, count in numbers["problems"]))
    out.print(_("gradebook: {gradebook} · summary: {summary}", gradebook=shown(_relative(folder / GRADEBOOK)),
                summary=shown(_relative(folder / SUMMARY))))


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- the run ------------------------------------------------------------------------------

def finished(folder: Path, submission: Submission, exercise: bytes) -> Optional[dict]:
    """The row of a student graded earlier from the same program and exercise, else None."""
    try:
        row = json.loads((folder / submission.folder / ROW_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(row, dict) or row.get("format") != FORMAT or row.get("status") == ERROR:
        return None
    return row if row.get("fingerprint") == _full_fingerprint(submission, exercise) else None


def _full_fingerprint(submission: Submission, exercise: bytes) -> str:
    """The program's digest with the exercise's: a grade made from both. A bad submission has its reason's."""
    own = submission.fingerprint or hashlib.sha256(f"{submission.problem}\0{submission.reason}".encode()).hexdigest()
    return hashlib.sha256(exercise + own.encode()).hexdigest()


def _load(lab: catalog.Lab, submission: Submission, data: list[tuple[str, bytes]]) -> catalog.Lab:
    """The student's program as the exercise's program (catalog.load_submission, with the exercise's
    files read once for the class); a name starting with "-" is sent as "_-..." so no runner takes it
    for an option."""
    path = submission.path
    assert path is not None, "only a submission with a program is loaded"
    source = catalog.read_file(path, Path(os.path.realpath(path.parent)), catalog.MAX_SCRIPT_BYTES,
                               "`invoke grade` sends")
    name = path.name if not path.name.startswith("-") else "_" + path.name
    files = [*(item for item in data if item[0] != name), (name, source)]
    return dataclasses.replace(lab, script_name=name, archive=catalog.pack(files, compress=True),
                               submission=Path(os.path.abspath(path)))


def grade(settings: Settings, number_text: str, submissions_text: str, jobs: int, term: Terminal,
          again: bool = False, extra: Optional[catalog.RunOverrides] = None, out_text: str = "",
          hidden_visibility: str = "after_published") -> int:
    """`invoke grade N SUBMISSIONS`: every student's program graded; gradebook.csv and summary.md.

    Exit 0 when every submission has its row (whatever the scores), 1 when the
    grader could not run some (rows with status "error", graded again by the
    next call), 2 for a bad N, SUBMISSIONS or option, 3 without an engine.
    """
    _ = term._
    if hidden_visibility not in HIDDEN_VISIBILITIES:
        raise UsageError(f"--gradescope-hidden {hidden_visibility}: give {' or '.join(HIDDEN_VISIBILITIES)}")
    [lab] = commands.select_labs(settings, [number_text], to_run=False)
    if lab.spec.kind != "exercise":
        raise UsageError(f"lab {lab.number:02d} is not an exercise; {commands.exercise_list(settings)}")
    lab = commands.with_overrides(lab, extra)
    lab.runs()  # options that do not fit the exercise's runs: one line, before anything runs
    root = Path(submissions_text).expanduser()
    if not root.is_dir():
        what = "no such folder" if not root.exists() else "not a folder"
        raise UsageError(f"{root}: {what}; give the folder that holds one folder (or one .py file) per student")
    folder = Path(out_text).expanduser() if out_text else settings.reports_dir / f"grade-{lab.number:02d}"
    expected = expected_checks(lab, settings.lang)
    data = catalog.exercise_data(lab)
    exercise = exercise_digest(lab, data)
    students, ignored = discover(root, lab, _)
    if not students:
        raise UsageError(f"{root}: no submissions in it; give the folder that holds one folder (or one .py file) "
                         "per student")
    commands.reports_ready(settings)
    for name in ignored:
        term.say(_("ignored {name}: a student's submission is a folder or a .py file", name=one_line(name)))

    rows: dict[str, dict] = {}
    to_run: list[Submission] = []
    bad: list[Submission] = []
    skipped = 0
    for submission in students:
        row = None if again else finished(folder, submission, exercise)
        if row is not None:
            rows[submission.folder] = row
            skipped += 1
        else:
            (to_run if submission.path is not None else bad).append(submission)
    if skipped:
        term.say(_("skipped {count} student(s) graded earlier from the same submission and exercise "
                   "(--again grades them again)", count=skipped))
    # The engine first: without one, no student is written (exit 3).
    connected = commands.connect() if to_run else None
    try:
        commands.writing(lambda: folder.mkdir(parents=True, exist_ok=True), settings)
        for submission in bad:
            row = row_not_run(submission, expected)
            row["fingerprint"] = _full_fingerprint(submission, exercise)
            _write_student(settings, folder, submission, row, lab, expected, _, hidden_visibility)
            rows[submission.folder] = row
            assert submission.reason is not None, "a submission without a program to run says why"
            term.say(_("{student}: bad submission: {reason}", student=one_line(submission.student),
                       reason=one_line(submission.reason)))
        if connected:
            _run_all(settings, lab, connected, to_run, jobs, term, folder, expected, data, exercise,
                     hidden_visibility, lambda submission, row: rows.__setitem__(submission.folder, row))
    except (KeyboardInterrupt, Terminated):
        done = sum(1 for s in students if finished(folder, s, exercise) is not None)
        term.err.print(_("{done} of {count} students are graded and kept in {path}; the same command grades "
                         "the others", done=done, count=len(students), path=shown(_relative(folder))))
        raise
    finally:
        if connected:
            connected[1].close()
    ordered = [rows[s.folder] for s in students if s.folder in rows]
    numbers = summarize(ordered, expected)
    _write_file(settings, folder / GRADEBOOK, gradebook_csv(ordered, expected))
    _write_file(settings, folder / SUMMARY, summary_md(numbers, lab, _))
    terminal_summary(term, numbers, lab, folder)
    return 1 if numbers["statuses"][ERROR] else 0


def _write_file(settings: Settings, path: Path, data: bytes) -> None:
    """Write one file whole; a reports folder that cannot take it is one line (commands.writing)."""
    commands.writing(lambda: report.write_file(path, data), settings)


def _write_student(settings: Settings, folder: Path, submission: Submission, row: dict, lab: catalog.Lab,
                   expected: list[dict], _: i18n.Translate, hidden_visibility: str,
                   files: Optional[dict] = None, details: Optional[list] = None) -> None:
    """The student's folder, swapped in whole: the report (a short one when nothing ran),
    Gradescope's results.json and grade.json, their row."""
    files = dict(files) if files else {"report.md": _short_report(row, lab, _)}
    files[GRADESCOPE_FILE] = _json(gradescope(row, expected, details, _, hidden_visibility))
    files[ROW_FILE] = _json(row)
    commands.writing(lambda: report.write_report(folder / submission.folder, files), settings)


def _run_all(settings: Settings, lab: catalog.Lab, connected: tuple, to_run: list[Submission], jobs: int,
             term: Terminal, folder: Path, expected: list[dict], data: list, exercise: bytes, hidden_visibility: str,
             on_row: Callable[[Submission, dict], None]) -> None:
    """Grade ``to_run``, ``jobs`` containers at a time (one engine client per thread), writing each
    student as soon as they are graded.  Ctrl-C removes the running containers and keeps the written."""
    _ = term._
    engine_module, engine = connected
    session = uuid.uuid4().hex[:12]
    tag, image_id, base_image = commands.lab_image(engine, settings, term)
    environment = {"host": engine_module.host_description(), "engine": engine.describe(),
                   "image": {"tag": tag, "id": image_id, "base": base_image}, "lang": settings.lang}

    def grade_one(client, submission: Submission) -> tuple[Submission, dict]:
        started = time.monotonic()
        try:
            program = _load(lab, submission, data)
            records = [(variant, client.run_lab(image_id, program, variant, session))
                       for variant in program.runs()]
            row, files, original = assess(program, submission, records, environment)
            row["seconds"] = round(time.monotonic() - started, 3)
        except ForklabError as exc:
            if session in engine_module.CANCELLED:
                raise KeyboardInterrupt from None
            # The file went away or changed since it was found; or the engine failed on this one.
            status = BAD if isinstance(exc, UsageError) else ERROR
            submission = dataclasses.replace(submission, problem="unreadable" if status == BAD else "engine",
                                             reason=exc.message)
            row, files, original = row_not_run(submission, expected, status), None, None
        except Exception as exc:  # noqa: BLE001 - one submission's failure is its row, the class goes on
            if session in engine_module.CANCELLED:
                raise KeyboardInterrupt from None
            line = (str(exc).strip().splitlines() or [""])[0]
            submission = dataclasses.replace(submission, problem="engine", reason=_(
                "the grader could not grade it ({error}); the next `invoke grade` tries again",
                error=f"{type(exc).__name__}: {line}"[:300]))
            row, files, original = row_not_run(submission, expected, ERROR), None, None
        if row["status"] != ERROR:
            row["fingerprint"] = _full_fingerprint(submission, exercise)
        _write_student(settings, folder, submission, row, lab, expected, _, hidden_visibility, files, original)
        return submission, row

    count = 0

    def graded(done: tuple[Submission, dict]) -> None:
        nonlocal count
        submission, row = done
        on_row(submission, row)
        count += 1
        line = _("{student}: {earned} of {total} points ({seconds:.1f} s)",
                 student=one_line(submission.student), earned=row["score"], total=row["total"],
                 seconds=row["seconds"])
        if row["reason"]:
            line += " · " + one_line(row["reason"])
        term.say(f"[{count}/{len(to_run)}] " + line)

    commands.run_pool(engine_module, engine, jobs, session, to_run, grade_one, graded)

