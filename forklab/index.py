"""reports/index.md and reports/index.html: every lab and every other report, from the reports on disk.

At the top, the totals (labs passed, not passed, not run; checks passed) and
when the reports were made; then one row per lab with the tutorial's claims and
their verdicts; then a section for each other kind of report that is there
(`--repeat`, `invoke run`, `invoke puzzle`, `invoke check`).  A result.json
that cannot be read is left out with a note, never a traceback.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from forklab import catalog
from forklab.errors import UsageError
from forklab.settings import Settings

#: The statuses and verdicts the templates give a colour (a class); anything else is "other".
STATUSES = ("passed", "failed", "error", "timeout", "not run", "invalid")
VERDICTS = ("true", "false", "partly")

#: The other reports' folders, in the order the index shows them.
KINDS = (("repeat", re.compile(r"lab-(\d{2,4})-repeat")), ("run", re.compile(r"run-.+")),
         ("puzzle", re.compile(r"puzzle-.+")), ("check", re.compile(r"check-(\d{2,4})")))


class Unreadable(Exception):
    """A result.json the index cannot use; ``reason`` is one of the index's fixed words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def read_result(folder: Path) -> tuple[dict, float]:
    """A report folder's result.json and the time it was written (its mtime, seconds since the epoch)."""
    path = folder / "result.json"
    try:
        raw = path.read_bytes()
        written = path.stat().st_mtime
    except FileNotFoundError:
        raise Unreadable("missing") from None
    except OSError as exc:
        raise Unreadable("unreadable", exc.strerror or type(exc).__name__) from None
    try:
        saved = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Unreadable("not JSON") from None
    if not (isinstance(saved, dict) and isinstance(saved.get("status"), str) and isinstance(saved.get("lab"), dict)
            and isinstance(saved.get("checks"), list) and all(isinstance(c, dict) for c in saved["checks"])):
        raise Unreadable("not a result")
    return saved, written


def _passed(saved: dict) -> tuple[int, int]:
    return sum(1 for check in saved["checks"] if check.get("passed") is True), len(saved["checks"])


def _status(value: object) -> dict:
    """A status as the templates show it: the word (translated there) and a class that is always one of ours."""
    text = str(value)
    return {"word": text, "css": text.replace(" ", "-") if text in STATUSES else "other"}


def _claims(claims: object) -> list[dict]:
    out = []
    for claim in claims if isinstance(claims, list) else []:
        if not isinstance(claim, dict):
            continue
        verdict = str(claim.get("verdict", ""))
        out.append({"en": str(claim.get("en") or ""), "zh": str(claim.get("zh") or ""), "verdict": verdict,
                    "css": verdict if verdict in VERDICTS else "other"})
    return out


def _link(folder: str, name: str) -> str:
    """A link from the index to a file of a report, safe in Markdown and HTML whatever the folder is called."""
    return quote(f"{folder}/{name}")


def rows(settings: Settings, notes: Optional[list] = None, times: Optional[list] = None,
         known: Optional[dict] = None) -> list[dict]:
    """Every lab in the catalog with what its report on disk says (or that there is none).

    ``known``: rows already read (``prepare``), by (lab number, folder), with their notes and times.
    """
    notes = [] if notes is None else notes
    times = [] if times is None else times
    out = []
    for number, path in sorted(catalog.find_labs(settings.labs_dir).items()):
        row, its_notes, its_times = (known or {}).get((number, path)) or _row(settings, number, path)
        out.append(row)
        notes += its_notes
        times += its_times
    return out


def _row(settings: Settings, number: int, path: Path) -> tuple[dict, list, list]:
    """One lab's row, and the notes and report times it adds."""
    notes: list[dict] = []
    try:
        spec = catalog.lab_spec(path)
    except UsageError as exc:
        return ({"number": number, "title": path.name, "status": "invalid", "state": _status("invalid"),
                 "problem": exc.message, "claims": [], "checks": "", "passed": 0, "total": 0,
                 "variants": [], "link": None, "environment": None}, notes, [])
    name = f"lab-{number:02d}"
    saved = None
    try:
        saved, written = read_result(settings.reports_dir / name)
        passed, total = _passed(saved)
        claims = _claims(saved["lab"].get("claims", [claim.model_dump() for claim in spec.claims]))
        variants = [str(v["variant"]["name"]) for v in saved.get("variants") or []]
        environment = saved.get("environment") if isinstance(saved.get("environment"), dict) else None
    except Unreadable as exc:
        if exc.reason != "missing":
            notes.append({"path": f"{name}/result.json", "reason": exc.reason, "detail": exc.detail})
        saved = None
    except (KeyError, TypeError, AttributeError):
        notes.append({"path": f"{name}/result.json", "reason": "not a result", "detail": ""})
        saved = None
    if saved is None:
        return ({"number": number, "title": spec.title, "problem": None, "status": "not run",
                 "state": _status("not run"), "checks": "", "passed": 0, "total": 0, "variants": [],
                 "claims": _claims([claim.model_dump() for claim in spec.claims]), "link": None,
                 "environment": None}, notes, [])
    return ({"number": number, "title": spec.title, "problem": None,
             "status": saved["status"], "state": _status(saved["status"]),
             "checks": f"{passed} of {total}", "passed": passed, "total": total, "variants": variants,
             "claims": claims, "link": f"{name}/report", "environment": environment}, notes, [written])


class Prepared:
    """The rows of every lab but the running ones, read on a thread while those run (``prepare``)."""

    def __init__(self, settings: Settings, running: set[int]) -> None:
        self.found: dict = {}
        self.thread = threading.Thread(target=self._read, args=(settings, running), name="forklab-index",
                                       daemon=True)
        self.thread.start()

    def _read(self, settings: Settings, running: set[int]) -> None:
        try:
            for number, path in sorted(catalog.find_labs(settings.labs_dir).items()):
                if number not in running:
                    self.found[(number, path)] = _row(settings, number, path)
        except Exception:  # noqa: BLE001 - write() reads what is missing, and says what is wrong
            pass

    def rows(self) -> dict:
        self.thread.join()
        return self.found


def prepare(settings: Settings, running: set[int]) -> Prepared:
    """Start reading the rows of every lab but ``running``; give the result to ``write``, which
    then reads only the running labs' rows (and any that this could not read) itself."""
    return Prepared(settings, running)


def _other(kind: str, folder: Path, saved: dict) -> dict:
    """One row of a section for the other reports: what it is, its status, and its count."""
    lab = saved["lab"]
    passed, total = _passed(saved)
    row = {"folder": folder.name, "title": str(lab.get("title") or folder.name), "number": lab.get("number"),
           "state": _status(saved["status"]), "passed": passed, "total": total,
           "md": _link(folder.name, "report.md"), "html": _link(folder.name, "report.html")}
    if kind == "repeat":
        counts = [v for v in (saved.get("repeat") or {}).get("variants") or [] if isinstance(v, dict)]
        row["runs"] = sum(int(v.get("runs") or 0) for v in counts)
        row["runs_passed"] = sum(int((v.get("statuses") or {}).get("passed") or 0) for v in counts)
        chaos = saved.get("chaos") or (saved.get("repeat") or {}).get("chaos")
        row["seed"] = chaos.get("seed") if isinstance(chaos, dict) else None
    elif kind == "check":
        score = saved.get("score") or {}
        row["earned"], row["points"] = int(score.get("earned") or 0), int(score.get("total") or 0)
        row["submission"] = str((saved.get("check") or {}).get("submission") or "")
    elif kind == "puzzle" and (folder / "puzzle.md").is_file():
        row["md"] = _link(folder.name, "puzzle.md")
    return row


def _order(kind: str, name: str) -> tuple:
    # Numbers in a name sorted as numbers: puzzle-4 before puzzle-10, check-09 before check-13.
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name))


def others(settings: Settings, notes: Optional[list] = None, times: Optional[list] = None) -> dict[str, list]:
    """The other reports in the reports folder, by kind (repeat, run, puzzle, check); only kinds that are there."""
    notes = [] if notes is None else notes
    times = [] if times is None else times
    found: dict[str, list] = {}
    try:
        folders = sorted(p for p in settings.reports_dir.iterdir() if not p.name.startswith("."))
    except OSError:
        return found
    for folder in folders:
        kind = next((kind for kind, pattern in KINDS if pattern.fullmatch(folder.name)), None)
        if kind is None or not folder.is_dir():
            continue
        try:
            saved, written = read_result(folder)
            row = _other(kind, folder, saved)
        except Unreadable as exc:
            notes.append({"path": f"{folder.name}/result.json", "reason": exc.reason, "detail": exc.detail})
            continue
        except (KeyError, TypeError, AttributeError, ValueError):
            notes.append({"path": f"{folder.name}/result.json", "reason": "not a result", "detail": ""})
            continue
        times.append(written)
        found.setdefault(kind, []).append(row)
    for kind, items in found.items():
        items.sort(key=lambda row: _order(kind, row["folder"]))
    return {kind: found[kind] for kind, _ in KINDS if kind in found}


def totals(table: list[dict]) -> dict:
    """How many labs passed, did not pass, were not run, are invalid; checks passed of all checks."""
    statuses = [row["status"] for row in table]
    return {"labs": len(table), "passed": statuses.count("passed"),
            "failed": sum(1 for s in statuses if s not in ("passed", "not run", "invalid")),
            "not_run": statuses.count("not run"), "invalid": statuses.count("invalid"),
            "checks_passed": sum(row["passed"] for row in table), "checks": sum(row["total"] for row in table)}


def when(times: list[float]) -> Optional[dict]:
    """When the reports on disk were written (UTC): the newest, and the oldest when it is another minute."""
    if not times:
        return None

    def shown(seconds: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))

    def iso(seconds: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

    newest, oldest = max(times), min(times)
    return {"newest": shown(newest), "newest_iso": iso(newest),
            "oldest": shown(oldest) if shown(oldest) != shown(newest) else None, "oldest_iso": iso(oldest)}


def environments(table: list[dict]) -> list[dict]:
    """The distinct places the reports were made in (usually one)."""
    seen: dict[tuple, dict] = {}
    for row in table:
        env = row["environment"]
        if not env:
            continue
        try:
            box = env.get("container") or {}
            summary = {"host": f"{env['host']['os']} {env['host']['release']} ({env['host']['arch']})",
                       "engine": f"{env['engine']['name']} {env['engine']['version']}",
                       "image": env["image"]["tag"], "base": env["image"]["base"],
                       "kernel": box.get("kernel"), "python": box.get("python"), "os": box.get("os")}
        except (KeyError, TypeError, AttributeError):
            continue  # an environment this index cannot describe: the lab's own report has it
        seen.setdefault(tuple(map(str, summary.values())), {**summary, "labs": []})["labs"].append(
            f"{row['number']:02d}")
    return list(seen.values())


def context(settings: Settings, prepared: Optional[Prepared] = None) -> dict:
    """Everything the index templates show (``prepared``: rows read ahead)."""
    notes: list[dict] = []
    times: list[float] = []
    table = rows(settings, notes, times, prepared.rows() if prepared is not None else None)
    sections = others(settings, notes, times)
    return {"rows": table, "totals": totals(table), "when": when(times), "sections": sections,
            "notes": notes, "environments": environments(table)}


def write(settings: Settings, prepared: Optional[Prepared] = None) -> Path:
    """Write index.md and index.html, each replaced whole, in the settings' language."""
    from forklab.report import template_environment, write_file

    values = context(settings, prepared)
    env = template_environment(settings.lang)
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    for name in ("index.md", "index.html"):
        text = env.get_template(f"{name}.j2").render(values)
        write_file(settings.reports_dir / name, text.encode("utf-8"))
    return settings.reports_dir / "index.md"
