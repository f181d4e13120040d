"""`docker compose run --rm lab 3`: run labs and write their reports with no Python on the host.

This is the entry point of docker-compose.yml's image (the `with-labs` stage of
containers/Dockerfile).  It is PID 1 in its container, and so is the runner
while a lab runs, because each step replaces the process with the next:

    inimage 3  --exec-->  runner (lab 03, variant 1)  --exec-->  inimage --continue
               --exec-->  runner (lab 03, variant 2)  --exec-->  inimage --continue
               --> checks, reports in /reports, the index, the summary

The runner is exactly the one `invoke lab` runs, given the same settings and
the same lab archive; the checks and the report templates are the host's own.
Only the container's limits cannot change between labs: a lab that needs other
limits than this service has is named with the service that has them.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

#: The report renderer's dependencies, installed beside the image's Python (not
#: in it), so the labs' own processes never see them.
DEPENDENCIES = Path(__file__).resolve().parents[1] / "deps"
if DEPENDENCIES.is_dir() and str(DEPENDENCIES) not in sys.path:
    sys.path.insert(0, str(DEPENDENCIES))

from forklab import catalog, commands, i18n, index, report, result  # noqa: E402
from forklab.console import Terminal  # noqa: E402
from forklab.errors import ForklabError, UsageError  # noqa: E402
from forklab.inside.protocol import NONCE_ENV  # noqa: E402
from forklab.settings import Settings, debian_arch  # noqa: E402

if TYPE_CHECKING:
    from forklab.result import RunRecord

LABS_DIR = Path(os.environ.get("FORKLAB_LABS_DIR", "/opt/forklab/labs"))
REPORTS_DIR = Path(os.environ.get("FORKLAB_REPORTS_DIR", "/reports"))
STATE_DIR = Path(os.environ.get("FORKLAB_STATE_DIR", "/tmp/forklab-inimage"))
#: How the host names the reports folder (docker-compose.yml passes it), for messages.
HOST_REPORTS = os.environ.get("FORKLAB_HOST_REPORTS", "./reports").rstrip("/") or "/"
USAGE = ("usage: docker compose run --rm lab [N | N,M,... | all | list]   "
         "(e.g. `docker compose run --rm lab 3`)")


def language() -> str:
    """FORKLAB_LANG (docker-compose.yml passes the host's), else English; another value is a UsageError."""
    return i18n.choose(None, os.environ)


def settings() -> Settings:
    return Settings(labs_dir=LABS_DIR, reports_dir=REPORTS_DIR,
                    base_image=os.environ.get("FORKLAB_BASE_IMAGE", ""), mirror=None, lang=language())


def effective_limits() -> dict:
    """This container's pids and memory limits, read as the runner reads them."""
    from forklab.inside.runner import _cgroup_limit

    memory = _cgroup_limit("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    return {"pids": _cgroup_limit("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"),
            "memory_mb": memory // 1048576 if memory else None}


def misfit(lab: catalog.Lab, limits: dict) -> str:
    """Why ``lab`` cannot run in this container ('' if it can): its limits are not this service's."""
    wanted = lab.runs()[0].settings
    wrong = []
    if limits["pids"] is not None and limits["pids"] != wanted.pids_limit:
        wrong.append(f"a pids limit of {wanted.pids_limit} (this container has {limits['pids']})")
    if limits["memory_mb"] is not None and limits["memory_mb"] != wanted.memory_mb:
        wrong.append(f"{wanted.memory_mb} MiB of memory (this container has {limits['memory_mb']} MiB)")
    if not wrong:
        return ""
    return (f"lab {lab.number:02d} needs {' and '.join(wrong)}: "
            f"run `docker compose run --rm lab-{lab.number:02d}`")


def choose(argument: str) -> list[int]:
    found = catalog.find_labs(LABS_DIR)
    if argument == "all":
        return sorted(found)
    return list(dict.fromkeys(catalog.parse_number(part.strip(), found) for part in argument.split(",")))


def start(argument: str, term: Terminal) -> int:
    """Plan the runs, then hand PID 1 to the first one."""
    numbers = choose(argument)
    found = catalog.find_labs(LABS_DIR)
    labs = [catalog.load_lab(found[number]) for number in numbers]  # every lab.yaml checked first
    limits = effective_limits()
    skipped = {lab.number: reason for lab in labs if (reason := misfit(lab, limits))}
    if len(labs) == 1 and skipped:
        raise UsageError(skipped[labs[0].number])
    # A variant whose runner steps aside (pid1: lab or init) is watched from
    # outside, through the engine: only `invoke lab` can do that.
    # [lab number, variant name] pairs, as the plan's JSON keeps them.
    runs: list[list] = [[lab.number, variant.name] for lab in labs if lab.number not in skipped
            for variant in lab.runs() if not variant.settings.stepped_aside]
    for lab in labs:
        aside = [variant.name for variant in lab.runs() if variant.settings.stepped_aside]
        if aside and lab.number not in skipped:
            skipped[lab.number] = (f"lab {lab.number:02d}'s {', '.join(aside)} variant(s) put the runner aside "
                                   f"and are watched through the engine: `invoke lab {lab.number}` runs them")
    if not runs:
        raise UsageError("; ".join(skipped.values()))
    plan = {"labs": sorted({number for number, _ in runs}), "skipped": list(skipped.values()),
            "runs": runs, "next": 0, "started": time.time()}
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in STATE_DIR.glob("run-*.json"):
        stale.unlink()
    _save(plan)
    return advance(plan, term)


def advance(plan: dict, term: Terminal) -> int:
    """Exec the runner for the next planned run, or, with none left, write the reports."""
    if plan["next"] >= len(plan["runs"]):
        return finish(plan, term)
    number, variant_name = plan["runs"][plan["next"]]
    lab = catalog.load_lab(catalog.find_labs(LABS_DIR)[number])
    variant = next(v for v in lab.runs() if v.name == variant_name)
    script, shipped = lab.shipped()
    nonce = uuid.uuid4().hex
    env = {**os.environ, NONCE_ENV: nonce, **shipped}
    plan["nonces"] = {**plan.get("nonces", {}), str(plan["next"]): nonce}
    plan["times"] = {**plan.get("times", {}), str(plan["next"]): time.time()}
    _save(plan)
    then = [sys.executable, "-m", "forklab.inimage", "--continue"]
    argv = [sys.executable, *variant.runner_command(script),
            "--result-file", str(STATE_DIR / f"run-{plan['next']}.json"), "--then", json.dumps(then)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)
    return 0  # not reached


def resume(term: Terminal) -> int:
    """Back from a run: say how it went, as `invoke lab` does (`lab 03 reaper: passed (0.4 s)`), then go on."""
    _ = term._
    plan = _load()
    index_ = plan["next"]
    seconds = time.time() - plan["times"][str(index_)]
    plan.setdefault("seconds", {})[str(index_)] = seconds
    number, variant_name = plan["runs"][index_]
    lab = catalog.load_lab(catalog.find_labs(LABS_DIR)[number])
    variant = next(v for v in lab.runs() if v.name == variant_name)
    checked = commands.checked(lab, variant, _record(index_, plan, seconds), {**_environment(), "lang": term.lang})
    which = "" if variant_name == "default" else f" {variant_name}"
    term.say(_("{what}: {status} ({seconds:.1f} s)", what=_("lab {number:02d}", number=number) + which,
               status=_(checked["status"]), seconds=seconds))
    plan["next"] += 1
    _save(plan)
    return advance(plan, term)


def finish(plan: dict, term: Terminal) -> int:
    """Every run is done: the same checks and report files as `invoke lab` writes."""
    chosen = settings()
    found = catalog.find_labs(LABS_DIR)
    environment = {**_environment(), "lang": chosen.lang}
    outcomes = []
    for number in plan["labs"]:
        lab = catalog.load_lab(found[number])
        collected = commands.Collected(lab)
        for position, (run_number, variant_name) in enumerate(plan["runs"]):
            if run_number != number:
                continue
            variant = next(v for v in lab.runs() if v.name == variant_name)
            seconds = plan.get("seconds", {}).get(str(position), 0.0)
            record = _record(position, plan, seconds)
            collected.runs.append(commands.checked(lab, variant, record, environment))
            collected.outputs.append(result.output_bytes(record))
            collected.seconds += seconds
        outcome = commands.finish(collected)
        folder = report.write_report(chosen.reports_dir / lab.report_name, outcome.files)
        outcomes.append(outcome)
        if len(plan["labs"]) == 1:
            term.lab_summary(outcome.document, Path(HOST_REPORTS) / folder.name)
    index.write(chosen)
    if len(plan["labs"]) > 1:
        term.labs_summary([(o.lab, o.document, o.seconds) for o in outcomes], time.time() - plan["started"])
    for reason in plan["skipped"]:
        term.say(f"not run here: {reason}")
    return commands.exit_code(outcomes) if outcomes else 0


def _record(position: int, plan: dict, seconds: float) -> RunRecord:
    """One run as the engine would have brought it back to `invoke lab`."""
    return {"document": _document(position, plan), "timed_out": False, "container_exit": 0,
            "runner_stderr": "", "duration_ms": round(seconds * 1000, 1),
            "container": os.environ.get("HOSTNAME", "compose")}


def _document(position: int, plan: dict):
    try:
        document = json.loads((STATE_DIR / f"run-{position}.json").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    return document if document.get("nonce") == plan["nonces"][str(position)] else None


def _environment() -> dict:
    arch = debian_arch(os.uname().machine)
    return {"host": {"os": "the host of docker compose", "release": "(not visible inside; no Python used)",
                     "arch": arch, "python": "none"},
            "engine": {"name": "Docker Compose's engine", "version": "(version not visible inside)",
                       "api_version": None, "os": "linux", "arch": arch,
                       "endpoint": "chosen by docker compose", "found_via": "docker compose run"},
            "image": {"tag": os.environ.get("FORKLAB_IMAGE", "forklab/lab:compose"), "id": "",
                      "base": os.environ.get("FORKLAB_BASE_IMAGE", "")}}


def _save(plan: dict) -> None:
    partial = STATE_DIR / "plan.json.partial"
    partial.write_text(json.dumps(plan), encoding="utf-8")
    os.replace(partial, STATE_DIR / "plan.json")


def _load() -> dict:
    return json.loads((STATE_DIR / "plan.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        term = Terminal(language())
        if args == ["--continue"]:
            return resume(term)
        if args in (["-h"], ["--help"], ["help"]):
            term.out.print(USAGE)
            return 0
        if args == ["list"]:
            return commands.list_labs(settings(), term)
        if len(args) != 1:
            raise UsageError(f"{' '.join(args) or 'nothing'}: give one lab number, a list like 1,3,6, "
                             "`all` or `list`")
        if not os.access(REPORTS_DIR, os.W_OK):
            raise UsageError(f"cannot write {HOST_REPORTS} as uid {os.getuid()}: make it writable for that "
                             "uid, or set FORKLAB_UID and FORKLAB_GID to your `id -u` and `id -g`")
        return start(args[0], term)
    except ForklabError as exc:
        # One line, as invoke prints it.
        print(f"forklab: {exc.message}", file=sys.stderr, flush=True)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
