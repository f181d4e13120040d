"""reports/index.md and reports/index.html: one row per lab, from the reports on disk."""

from __future__ import annotations

import json
from pathlib import Path

from forklab import catalog
from forklab.errors import UsageError
from forklab.settings import Settings


def rows(settings: Settings) -> list[dict]:
    """Every lab in the catalog with what its report on disk says (or that there is none)."""
    out = []
    for number, path in sorted(catalog.find_labs(settings.labs_dir).items()):
        try:
            lab = catalog.load_lab(path)
        except UsageError as exc:
            out.append({"number": number, "title": path.name, "status": "invalid", "problem": exc.message,
                        "claims": [], "checks": "", "passed": 0, "total": 0, "variants": [], "link": None,
                        "environment": None})
            continue
        folder = settings.reports_dir / f"lab-{number:02d}"
        try:
            saved = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = None
        passed = sum(1 for check in saved["checks"] if check["passed"]) if saved else 0
        out.append({
            "number": number, "title": lab.spec.title, "problem": None,
            "status": saved["status"] if saved else "not run",
            "checks": f"{passed} of {len(saved['checks'])}" if saved else "",
            "passed": passed, "total": len(saved["checks"]) if saved else 0,
            "variants": [v["variant"]["name"] for v in saved.get("variants", [])] if saved else [],
            "claims": [claim.model_dump() for claim in lab.spec.claims],
            "link": f"lab-{number:02d}/report" if saved else None,
            "environment": saved["environment"] if saved else None,
        })
    return out


def environments(table: list[dict]) -> list[dict]:
    """The distinct places the reports were made in (usually one)."""
    seen: dict[tuple, dict] = {}
    for row in table:
        env = row["environment"]
        if not env:
            continue
        box = env.get("container") or {}
        summary = {"host": f"{env['host']['os']} {env['host']['release']} ({env['host']['arch']})",
                   "engine": f"{env['engine']['name']} {env['engine']['version']}",
                   "image": env["image"]["tag"], "base": env["image"]["base"],
                   "kernel": box.get("kernel"), "python": box.get("python"), "os": box.get("os")}
        seen.setdefault(tuple(summary.values()), {**summary, "labs": []})["labs"].append(f"{row['number']:02d}")
    return list(seen.values())


def write(settings: Settings) -> Path:
    """Write index.md and index.html, each replaced whole, in the settings' language."""
    from forklab.report import template_environment, write_file

    table = rows(settings)
    context = {"rows": table, "environments": environments(table)}
    env = template_environment(settings.lang)
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    for name in ("index.md", "index.html"):
        text = env.get_template(f"{name}.j2").render(context)
        write_file(settings.reports_dir / name, text.encode("utf-8"))
    return settings.reports_dir / "index.md"
