"""`invoke lab N --repeat K`: the distribution of K runs of one lab.

One run shows one interleaving; K runs show how often each happens: how many
runs passed each check, each distinct (normalized) output with its count,
each distinct process tree shape, and which line came first.
"""

from __future__ import annotations

from collections import Counter

from forklab import normalize, pictures
from forklab.report import normalized_output


def tree_shape(run: dict) -> str:
    """The tree of roles, without commands, exits or times."""
    reaper, found = pictures.lives(run)
    return "\n".join("  " * depth + one.role for one, depth in pictures.ordered(reaper, found))


def first_line(run: dict) -> str:
    """The first line printed, pids as roles (never sorted: the order is the point)."""
    lines = normalize.output(run["stdout"], run["lab"].get("pid_patterns", []),
                             normalize.pid_names(run)).splitlines()
    return lines[0] if lines else "(no output)"


def _ranked(counter: Counter) -> list[dict]:
    return [{"text": text, "count": count} for text, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def summarize(name: str, title: str, runs: list[dict]) -> dict:
    """One variant's K runs, counted."""
    checks: dict[str, int] = {}
    for run in runs:
        for check in run["checks"]:
            checks[check["name"]] = checks.get(check["name"], 0) + (1 if check["passed"] else 0)
    chaos = [e["chaos"] for run in runs for e in run["events"] if e.get("chaos")]
    return {
        "variant": name, "title": title, "runs": len(runs),
        "statuses": dict(Counter(run["status"] for run in runs)),
        "checks": [{"name": check, "passed": passed} for check, passed in checks.items()],
        "first_lines": _ranked(Counter(first_line(run) for run in runs)),
        "outputs": _ranked(Counter(normalized_output(run, "stdout") for run in runs)),
        "trees": _ranked(Counter(tree_shape(run) for run in runs)),
        "delays": {"parent": sum(1 for c in chaos if c["delayed"] == "parent"),
                   "child": sum(1 for c in chaos if c["delayed"] == "child")} if chaos else None,
    }


def bar(count: int, total: int, width: int = 30) -> str:
    """A text bar: ████████ for count out of total."""
    filled = round(width * count / total) if total else 0
    return "█" * filled + "·" * (width - filled)


def svg_bars(rows: list[dict], total: int) -> str:
    """A horizontal bar chart as inline SVG (one bar per row: text, count)."""
    from html import escape

    label_w, plot_w, row_h = 360, 300, 26
    height = len(rows) * row_h + 8
    parts = [f'<svg class="bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {label_w + plot_w + 60} {height}" '
             f'width="{label_w + plot_w + 60}" role="img" aria-label="distribution">']
    for index, row in enumerate(rows):
        y = 4 + index * row_h
        width = plot_w * row["count"] / total if total else 0
        text = row["text"] if len(row["text"]) <= 48 else row["text"][:47] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{escape(text)}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{max(width, 1):.1f}" height="{row_h - 8}">'
                     f'<title>{escape(row["text"])}: {row["count"]} of {total}</title></rect>'
                     f'<text x="{label_w + width + 6:.1f}" y="{y + 16}">{row["count"]}</text>')
    parts.append("</svg>")
    return "".join(parts)
