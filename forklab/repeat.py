"""`invoke lab N --repeat K`: the distribution of K runs of one lab.

One run shows one interleaving; K runs show how often each happens: how many
runs passed each check, each distinct (normalized) output with its count,
each distinct process tree shape, and which line came first.
"""

from __future__ import annotations

from collections import Counter

from forklab import i18n, normalize, pictures


def tree_shape(run: dict) -> str:
    """The tree of roles, without commands, exits or times."""
    reaper, found = pictures.lives(run)
    return "\n".join("  " * depth + one.role for one, depth in pictures.ordered(reaper, found))


def first_line(run: dict) -> str:
    """The first line printed, pids as roles (never sorted: the order is the point)."""
    lines = normalize.output(run["stdout"], run["lab"].get("pid_patterns", []),
                             normalize.pid_names(run)).splitlines()
    return lines[0] if lines else "(no output)"


def normalized_output(run: dict, stream: str) -> str:
    """A stream as the runs are compared (and normalized.md shows it): pids as roles, and a race
    lab's lines sorted, as their order is the race."""
    text = normalize.output(run[stream], run["lab"].get("pid_patterns", []), normalize.pid_names(run))
    if run["lab"].get("output_order") == "race":
        text = "\n".join(sorted(text.splitlines())) + ("\n" if text.endswith("\n") else "")
    return text


def _ranked(counter: Counter) -> list[dict]:
    return [{"text": text, "count": count} for text, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


#: What the counts count, in Chinese (the words of labs/GLOSSARY.zh.md).
ZH = {
    "{outputs} distinct whole output(s) in {runs} runs, each compared whole, pids as roles":
        "{runs} 次运行中有 {outputs} 种不同的完整输出(整段比较,PID 写成角色)",
    "; each output's lines were sorted before comparing, as their order is a race: "
    "which line came first is counted above":
        ";比较之前每段输出的行都排了序,因为行的顺序是竞态:哪一行最先出现见上面的统计",
    "; {trees} distinct process tree(s)": ";{trees} 种不同的进程树",
}


def counted(outputs: int, trees: int, runs: int, sorted_lines: bool, lang: str | None = None) -> str:
    """What the counts count, in words: whole outputs (sorted or not), and trees.

    Next to a chart of first lines that shows two, "1 distinct output" must
    say that it compares whole outputs, whose lines a race lab sorts.
    """
    from forklab.pictures import words

    _ = words(lang, ZH)
    text = _("{outputs} distinct whole output(s) in {runs} runs, each compared whole, pids as roles",
             outputs=outputs, runs=runs)
    if sorted_lines:
        text += _("; each output's lines were sorted before comparing, as their order is a race: "
                  "which line came first is counted above")
    return text + _("; {trees} distinct process tree(s)", trees=trees)


def orders_seen(runs: list[dict]) -> dict | None:
    """The first run's possible outputs, each with how many of the runs printed it.

    {"count", "outputs": [{"lines", "seen"}] (None when not listed),
    "problems", "graphs" (how many different graphs the runs had),
    "outside" (runs whose output their own graph does not allow)}, or None.
    """
    from forklab import orders

    view = orders.for_report(runs[0]) if runs else None
    if view is None:
        return None
    printed = Counter(tuple(normalize.output(run["stdout"], run["lab"].get("pid_patterns", []),
                                             normalize.pid_names(run)).splitlines()) for run in runs)
    shapes = {repr([(one["name"], one["parent"], [kind if kind == "write" else (kind, value)
                                                 for kind, value in one["events"]])
                    for one in (run.get("orders") or {}).get("processes") or []]) for run in runs}
    return {
        "count": view["count"], "problems": view["problems"],
        "outputs": None if view["outputs"] is None else
        [{"lines": lines, "seen": printed.get(tuple(lines), 0)} for lines in view["outputs"]],
        "graphs": len(shapes),
        "outside": sum(1 for run in runs if (run.get("orders") or {}).get("observed") is False),
    }


def summarize(name: str, title: str | None, runs: list[dict]) -> dict:
    """One variant's K runs, counted."""
    checks: dict[str, int] = {}
    for run in runs:
        for check in run["checks"]:
            checks[check["name"]] = checks.get(check["name"], 0) + (1 if check["passed"] else 0)
    chaos = [e["chaos"] for run in runs for e in run["events"] if e.get("chaos")]
    outputs = _ranked(Counter(normalized_output(run, "stdout") for run in runs))
    trees = _ranked(Counter(tree_shape(run) for run in runs))
    race = bool(runs) and runs[0]["lab"].get("output_order") == "race"
    return {
        "variant": name, "title": title, "runs": len(runs),
        "statuses": dict(Counter(run["status"] for run in runs)),
        "checks": [{"name": check, "passed": passed} for check, passed in checks.items()],
        "first_lines": _ranked(Counter(first_line(run) for run in runs)),
        "outputs": outputs,
        "trees": trees,
        "counted": counted(len(outputs), len(trees), len(runs), race, i18n.of(runs[0]) if runs else None),
        "orders": orders_seen(runs),
        "delays": {"parent": sum(1 for c in chaos if c["delayed"] == "parent"),
                   "child": sum(1 for c in chaos if c["delayed"] == "child")} if chaos else None,
    }


def bar(count: int, total: int, width: int = 30) -> str:
    """A text bar: ████████ for count out of total."""
    filled = round(width * count / total) if total else 0
    return "█" * filled + "·" * (width - filled)


def svg_bars(rows: list[dict], total: int) -> str:
    """A horizontal bar chart as inline SVG: each row's whole text above its bar, wrapped
    to the page's width (lines that differ in one word, 父 or 子, must show that word)."""
    from html import escape

    from forklab.normalize import one_line
    from forklab.pictures import PAGE_W, _wrap

    plot_w, line_h, bar_h, gap = PAGE_W - 120, 17, 16, 10
    parts, y = [], 4.0
    for row in rows:
        width = plot_w * row["count"] / total if total else 0
        text = one_line(row["text"])
        lines = _wrap(text, PAGE_W - 10, 13)
        parts.append(f'<g class="bar-row"><title>{escape(text)}: {row["count"]} of {total}</title>')
        for line in lines:
            y += line_h
            parts.append(f'<text x="2" y="{y - 4:.0f}">{escape(line)}</text>')
        parts.append(f'<rect class="bar" x="2" y="{y:.0f}" width="{max(width, 1):.1f}" height="{bar_h}" />'
                     f'<text x="{width + 8:.1f}" y="{y + bar_h - 3:.0f}">{row["count"]} / {total}</text></g>')
        y += bar_h + gap
    height = y
    return (f'<svg class="bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PAGE_W} {height:.0f}" '
            f'width="{PAGE_W}" height="{height:.0f}" role="img" aria-label="distribution">' + "".join(parts) + "</svg>")
