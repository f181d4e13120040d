"""Writing labs: what `invoke new`, `invoke check-lab` and `invoke schema` do.

* ``new_lab``: labs/NN-slug/ with a lab.py that forks and marks a checkpoint, a
  lab.yaml whose claim and checks that run bears out, and the two lessons: it
  passes as it is, and its author edits from there.
* ``check_labs``: reads lab.yaml against lab.py without running anything.  A
  checkpoint lab.yaml names must be a ``checkpoint("name", ...)`` call in the
  program (found by reading its syntax tree: a name given as a string literal,
  or one passed as a literal to a helper that hands it on); a role must be a
  keyword of such a call, or a name the kit gives itself.  What the program
  builds at run time cannot be read this way, and is said to be so.
* ``schema_text``: lab.yaml's JSON schema, made from the model that validates it
  (labs/lab.schema.json, for editors).
"""

from __future__ import annotations

import ast
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from forklab import catalog
from forklab.console import Terminal, shown
from forklab.errors import UsageError
from forklab.settings import Settings

#: labs/lab.schema.json: lab.yaml's JSON schema; a lab.yaml's first line points editors to it.
SCHEMA_FILE = "lab.schema.json"
SCHEMA_LINE = f"# yaml-language-server: $schema=../{SCHEMA_FILE}"

#: Snapshots the runner takes without a checkpoint() call: the end always, the
#: start and every INTERVAL seconds when the run settings ask.
RUNNER_SNAPSHOTS = re.compile(r"^(end|start|every-[0-9.e+-]+s-\d+)$")
#: Names the kit gives processes itself: main, the reaper, the fork tree's names and the unnamed.
KIT_ROLES = re.compile(r"^(main(\.\d+)*|reaper|unnamed-\d+)$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG = 40


# -- the lab.yaml schema -------------------------------------------------------------------

def schema_text() -> str:
    """lab.yaml's JSON schema as labs/lab.schema.json holds it, generated from catalog.LabSpec."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **catalog.LabSpec.model_json_schema()}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schema(settings: Settings, term: Terminal) -> int:
    """`invoke schema`: write labs/lab.schema.json (after a change to lab.yaml's model)."""
    path = settings.labs_dir / SCHEMA_FILE
    if not settings.labs_dir.is_dir():
        raise UsageError(f"{settings.labs_dir}: no labs folder here; run invoke from the forklab checkout")
    _write_text(path, schema_text())
    term.out.print(term._("wrote {path}", path=shown(path)))
    return 0


def _write_text(path: Path, text: str) -> None:
    """``text`` into ``path``, whole or not at all."""
    from forklab.report import write_file

    write_file(path, text.encode("utf-8"))


# -- reading a program -------------------------------------------------------------------

@dataclass
class Program:
    """What a lab's program says about its checkpoints, read from its syntax tree."""

    #: Checkpoint names given as literals, with the line of their first call.
    names: dict = field(default_factory=dict)
    #: Roles given as keywords of those calls.
    roles: set = field(default_factory=set)
    #: Lines of calls whose name, or whose roles (``**roles``), are built at run time.
    unknown_names: list = field(default_factory=list)
    unknown_roles: list = field(default_factory=list)


def _checkpoint_aliases(tree: ast.AST) -> set[str]:
    """The names ``checkpoint`` goes by in a module (``from forklab.checkpoint import checkpoint as mark``)."""
    aliases = {"checkpoint"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "forklab.checkpoint":
            aliases |= {alias.asname or alias.name for alias in node.names if alias.name == "checkpoint"}
    return aliases


def _calls_checkpoint(node: ast.Call, aliases: set[str]) -> bool:
    func = node.func
    return (isinstance(func, ast.Name) and func.id in aliases) or \
        (isinstance(func, ast.Attribute) and func.attr == "checkpoint")


def _literal(node: Optional[ast.AST]) -> Optional[str]:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


#: A function's definition: ``def`` or ``async def``.
_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]


def _parameters(function: _Function) -> tuple[list[str], Optional[str]]:
    arguments = function.args
    return [a.arg for a in [*arguments.posonlyargs, *arguments.args]], \
        (arguments.kwarg.arg if arguments.kwarg else None)


def read_program(source: str) -> Program:
    """The checkpoint calls of a program: their literal names and roles, and what is built at run time.

    A call inside a helper (``def mark(name, **roles): checkpoint(name, **roles)``)
    whose name or roles are the helper's own parameters is read at the
    helper's calls instead, where they are literals.  Raises SyntaxError.
    """
    tree = ast.parse(source)
    aliases = _checkpoint_aliases(tree)
    program = Program()
    functions = {node.name: node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}

    def enclosing(node: ast.AST) -> Optional[_Function]:
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None

    def calls_of(function: _Function) -> list[ast.Call]:
        return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name) and node.func.id == function.name]

    def passed(call: ast.Call, position: int, name: str) -> Optional[ast.AST]:
        if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:position + 1]):
            return call.args[position]
        return next((k.value for k in call.keywords if k.arg == name), None)

    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _calls_checkpoint(node, aliases)):
            continue
        helper = enclosing(node)
        params, kwarg = _parameters(helper) if helper else ([], None)
        first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "name"), None)
        name = _literal(first)
        if name is not None:
            program.names.setdefault(name, node.lineno)
        elif isinstance(first, ast.Name) and first.id in params and helper is not None \
                and functions.get(helper.name) is helper and calls_of(helper):
            # A helper's parameter: the names are what its callers pass.
            for call in calls_of(helper):
                value = _literal(passed(call, params.index(first.id), first.id))
                if value is None:
                    program.unknown_names.append(call.lineno)
                else:
                    program.names.setdefault(value, call.lineno)
        else:
            program.unknown_names.append(node.lineno)
        for keyword in node.keywords:
            if keyword.arg is not None:
                if keyword.arg != "name":
                    program.roles.add(keyword.arg)
            elif isinstance(keyword.value, ast.Name) and keyword.value.id == kwarg and helper is not None \
                    and calls_of(helper):
                # **roles handed on from a helper: the roles are its callers' keywords.
                for call in calls_of(helper):
                    program.roles |= {k.arg for k in call.keywords if k.arg is not None and k.arg not in params}
                    if any(k.arg is None for k in call.keywords):
                        program.unknown_roles.append(call.lineno)
            else:
                program.unknown_roles.append(node.lineno)
    return program


# -- checking a lab without running it ------------------------------------------------------

@dataclass
class Finding:
    """One thing check-lab says about a lab: a problem, or (``certain`` False) what it cannot tell."""

    where: str
    text: str
    certain: bool = True


def _uses(spec: catalog.LabSpec) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(where, checkpoint) and (where, role) for every checkpoint and role lab.yaml names."""
    checkpoints: list[tuple[str, str]] = []
    roles: list[tuple[str, str]] = []
    if spec.key_checkpoint:
        checkpoints.append(("key_checkpoint", spec.key_checkpoint))
    groups = [("expect", spec.expect)] + [(f"variants[{i}].expect", v.expect) for i, v in enumerate(spec.variants)]
    for prefix, expectations in groups:
        for index, check in enumerate(expectations):
            where = f"{prefix}[{index}]"
            if getattr(check, "checkpoint", None):
                checkpoints.append((f"{where}.checkpoint", check.checkpoint))  # type: ignore[union-attr]  # only the checks that name a checkpoint get here
            for key in ("role", "parent", "by", "same_as"):
                value = getattr(check, key, None)
                if isinstance(value, str):
                    roles.append((f"{where}.{key}", value))
            of_role = check.of_role if isinstance(check, catalog.FdsCheck) else None
            if of_role is not None:
                roles.append((f"{where}.of", of_role))
            if check.check == "lines":
                roles += [(f"{where}.match", role) for role in catalog.PID_PLACEHOLDER.findall(check.match)]
    for index, prediction in enumerate(spec.predict):
        where = f"predict[{index}].answer"
        if prediction.answer.zombies_at:
            checkpoints.append((f"{where}.zombies_at", prediction.answer.zombies_at))
        if prediction.answer.parent:
            role, checkpoint = prediction.answer.parent.split("@", 1)
            roles.append((f"{where}.parent", role))
            checkpoints.append((f"{where}.parent", checkpoint))
    return checkpoints, roles


def _programs(lab: catalog.Lab) -> list[tuple[str, str]]:
    """(file name, source) of the lab's Python files: its program first, then the files beside it."""
    program = getattr(lab, "program_name", "lab.py")
    files = [(name, data) for name, data in catalog.lab_files(lab.path) if name.endswith(".py")]
    files.sort(key=lambda item: (item[0] != program, item[0]))
    return [(name, data.decode("utf-8", "replace")) for name, data in files]


def check_lab(lab: catalog.Lab, _=None) -> list[Finding]:
    """What is wrong with ``lab`` that can be told without running it (lab.yaml against its program)."""
    from forklab import i18n

    _ = _ or i18n.translator(i18n.DEFAULT)
    files = _programs(lab)
    if not files:
        return [Finding("lab.py", _("no Python program in the folder"))]
    main = files[0][0]
    seen = Program()
    for name, source in files:
        try:
            one = read_program(source)
        except SyntaxError as exc:
            return [Finding(name, _("not valid Python (line {line}): {error}", line=exc.lineno, error=exc.msg))]
        seen.names = {**one.names, **seen.names}
        seen.roles |= one.roles
        seen.unknown_names += [f"{name}:{line}" for line in one.unknown_names]
        seen.unknown_roles += [f"{name}:{line}" for line in one.unknown_roles]
    runs = [lab.spec.run] + [lab.spec.run.overridden(v.run) for v in lab.spec.variants]
    findings: list[Finding] = []
    checkpoints, roles = _uses(lab.spec)
    known = ", ".join(sorted(seen.names)) or _("none")
    for checkpoint, places in _by_name(checkpoints).items():
        if checkpoint in seen.names or _runner_snapshot(checkpoint, runs):
            continue
        where = "lab.yaml " + ", ".join(places)
        if seen.unknown_names:
            findings.append(Finding(where, _(
                "cannot tell whether checkpoint {name!r} happens: {file} builds some checkpoint names at run time "
                "({lines})", name=checkpoint, file=main, lines=", ".join(seen.unknown_names)), certain=False))
            continue
        findings.append(Finding(where, _(
            "no checkpoint({name!r}) in {file}, so this never happens (its checkpoints: {known}){close}",
            name=checkpoint, file=main, known=known, close=_close(checkpoint, seen.names, _))))
    named = ", ".join(sorted(seen.roles)) or _("none")
    for role, places in _by_name(roles).items():
        if role in seen.roles or KIT_ROLES.match(role):
            continue
        where = "lab.yaml " + ", ".join(places)
        if seen.unknown_roles:
            findings.append(Finding(where, _(
                "cannot tell whether a process is named {role}: {file} names some roles at run time ({lines})",
                role=role, file=main, lines=", ".join(seen.unknown_roles)), certain=False))
            continue
        findings.append(Finding(where, _(
            "no process is named {role}: no checkpoint() in {file} gives that keyword (its roles: {named}; "
            "main, reaper and fork-tree names such as main.1 need none){close}",
            role=role, file=main, named=named, close=_close(role, seen.roles, _))))
    return findings


def _by_name(uses: list[tuple[str, str]]) -> dict[str, list[str]]:
    """name -> the places of lab.yaml that use it, in the file's order."""
    places: dict[str, list[str]] = {}
    for where, name in uses:
        places.setdefault(name, [])
        if where not in places[name]:
            places[name].append(where)
    return places


def _runner_snapshot(name: str, runs: list) -> bool:
    """A snapshot the runner takes itself: end always; start and every-Ns-K when a run asks for them."""
    if name == "end":
        return True
    if name == "start":
        return any(run.snapshot_start for run in runs)
    return bool(RUNNER_SNAPSHOTS.match(name)) and any(run.interval for run in runs)


def _close(name: str, known, _) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(known), n=1)
    return _("; did you mean {name}?", name=match[0]) if match else ""


def check_labs(settings: Settings, number: str, term: Terminal) -> int:
    """`invoke check-lab [N]`: each lab (or lab N) checked without running; 1 when something is wrong.

    A lab.yaml that does not load is its one-line error, and exit 2.
    """
    _ = term._
    found = catalog.find_labs(settings.labs_dir)
    numbers = [catalog.parse_number(number, found)] if str(number).strip() else sorted(found)
    problems, invalid = 0, 0
    for one in numbers:
        path = found[one]
        try:
            lab = catalog.load_lab(path)
        except UsageError as exc:
            if len(numbers) == 1:
                raise
            invalid += 1
            term.out.print(f"[red]✗[/red] {shown(path.name)}: {shown(exc.message)}")
            continue
        findings = check_lab(lab, _)
        wrong = [f for f in findings if f.certain]
        problems += len(wrong)
        mark = "[red]✗[/red]" if wrong else "[green]✓[/green]"
        unsure = len(findings) - len(wrong)
        summary = _("{count} problem(s)", count=len(wrong)) if wrong else _("nothing wrong")
        if unsure:
            summary += _("; {count} thing(s) it cannot tell without running", count=unsure)
        term.out.print(f"{mark} {shown(path.name)}: {summary}")
        for finding in findings:
            colour = "red" if finding.certain else "yellow"
            term.out.print(f"    [{colour}]{shown(finding.where)}: {shown(finding.text)}[/{colour}]")
    return 2 if invalid else 1 if problems else 0


# -- a new lab ----------------------------------------------------------------------------------

def new_lab(settings: Settings, number_text: str, slug: str, claim: str, term: Terminal) -> int:
    """`invoke new N slug`: labs/NN-slug/ that `invoke lab N` runs and passes as it is."""
    text = str(number_text).strip()
    if not re.fullmatch(r"\d{1,2}", text) or not 1 <= int(text) <= 99:
        raise UsageError(f"{text!r} is not a lab number; give one from 1 to 99")
    number = int(text)
    if not SLUG.match(slug) or len(slug) > MAX_SLUG:
        raise UsageError(f"{slug!r} is not a slug: lower-case letters and digits in words joined by '-', "
                         f"at most {MAX_SLUG} characters (e.g. zombie-race)")
    labs_dir = settings.labs_dir
    found = catalog.find_labs(labs_dir)
    if number in found:
        raise UsageError(f"lab {number:02d} is {found[number].name} already; choose another number "
                         f"(the labs are {catalog.lab_list_text(found)})")
    folder = labs_dir / f"{number:02d}-{slug}"
    if folder.exists() or folder.is_symlink():
        raise UsageError(f"{folder}: already exists; choose another slug")
    if claim:
        shared = catalog.shared_claims(labs_dir)
        if claim not in shared:
            ids = ", ".join(sorted(shared)) or f"none: {labs_dir / catalog.CLAIMS_FILE} is missing"
            raise UsageError(f"--claim {claim}: no such claim in {labs_dir / catalog.CLAIMS_FILE}; the ids are {ids}")
    files = scaffold(number, slug, claim)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=labs_dir))
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(staging, 0o777 & ~mask)  # a lab folder like the others, not mkdtemp's private one
        for name, content in files.items():
            (staging / name).write_text(content, encoding="utf-8", newline="\n")
        os.rename(staging, folder)
    except OSError as exc:
        for leftover in staging.glob("*"):
            leftover.unlink()
        staging.rmdir()
        raise UsageError(f"{folder}: cannot be written ({exc.strerror})") from None
    catalog.load_lab(folder)  # what it wrote loads
    term.out.print(term._("wrote {path}: {files}", path=shown(folder), files=", ".join(sorted(files))))
    term.out.print(term._("run it with `invoke lab {number}`; check it with `invoke check-lab {number}`",
                          number=number))
    return 0


def scaffold(number: int, slug: str, claim: str = "") -> dict[str, str]:
    """The files of a new lab: a program that forks and leaves its child a zombie for one checkpoint,
    and a lab.yaml whose claim and checks that program bears out."""
    title = slug.replace("-", " ").capitalize()
    if claim:
        claims = (f"claims:                      # the claims it tests, by their id in ../{catalog.CLAIMS_FILE}\n"
                  f"  - id: {claim}\n"
                  "    shows: \"What this lab's run shows about it.\"\n")
    else:
        claims = (
            "claims:                      # a claim of its own; or `- id: ...` of one in ../claims.yaml\n"
            "  - zh: \"子进程退出以后、父进程回收它之前,它是僵尸进程。\"\n"
            "    en: \"A child that has exited, until its parent reaps it, is a zombie.\"\n"
            "    verdict: \"true\"\n"
            "    why: \"The kernel keeps a dead child's pid and exit status until its parent collects them "
            "with wait().\"\n"
            "    shows: \"At checkpoint child-exited the child is in state Z; after waitpid() it is gone.\"\n"
            "    # source: where the sentence was read (a claim need not come from the tutorial)\n")
    lab_yaml = (
        f"{SCHEMA_LINE}\n"
        f"number: {number}\n"
        f"title: {title}\n"
        "summary: >\n"
        "  What this lab shows, in two sentences.  (The program forks; its child exits\n"
        "  and stays a zombie until the parent reaps it.)\n"
        f"{claims}"
        "run:\n"
        "  timeout: 20\n"
        "key_checkpoint: child-exited\n"
        "expect:\n"
        "  - check: state\n"
        "    checkpoint: child-exited\n"
        "    role: child\n"
        "    state: Z\n"
        "    says: \"the child that has exited, not yet reaped, is a zombie\"\n"
        "    says_zh: \"已经退出、尚未被回收的子进程是僵尸进程\"\n"
        "  - check: absent\n"
        "    checkpoint: after-wait\n"
        "    role: child\n"
        "    says: \"after waitpid() the child is gone from the process table\"\n"
        "    says_zh: \"waitpid() 之后,子进程从进程表中消失\"\n"
        "  - check: lines\n"
        "    match: \"^parent: reaped the child$\"\n"
        "    count: 1\n"
        "  - check: exit\n"
        "    role: main\n"
        "    code: 0\n")
    lab_py = (
        f"# {title}: the program of lab {number:02d}.  It forks, lets its child exit, and marks the moment\n"
        "# the child is a zombie; lab.yaml checks what each checkpoint shows.\n"
        "import os\n"
        "\n"
        "from forklab.checkpoint import checkpoint\n"
        "\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    print(\"child: running\", flush=True)\n"
        "    os._exit(0)\n"
        "\n"
        "# Wait until the child has exited, but leave it unreaped (WNOWAIT): from here on it\n"
        "# is a zombie, whatever the timing.  Checkpoints mark states reached so, never with sleep().\n"
        "os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)\n"
        "checkpoint(\"child-exited\", parent=os.getpid(), child=pid)\n"
        "os.waitpid(pid, 0)\n"
        "print(\"parent: reaped the child\", flush=True)\n"
        "checkpoint(\"after-wait\", parent=os.getpid(), child=pid)\n")
    readme = (
        f"# {number:02d} · {title}\n"
        "\n"
        "What this lab shows, and why.  Write the lesson here: what to look at in the\n"
        "report, what the tutorial (or the claim) says, and what really happens.\n"
        "\n"
        f"Run it with `invoke lab {number}`; the report is `reports/lab-{number:02d}/report.md`.\n"
        f"`invoke check-lab {number}` checks lab.yaml against lab.py without running it.\n")
    readme_zh = (
        f"# {number:02d} · {title}\n"
        "\n"
        "这个实验展示什么,为什么。在这里写课文:报告里看哪里,说法是什么,实际发生了什么。\n"
        "术语用[术语表](../GLOSSARY.zh.md)的译名。\n"
        "\n"
        f"运行:`invoke lab {number}`;报告在 `reports/lab-{number:02d}/report.md`。\n"
        f"`invoke check-lab {number}` 不运行实验,只对照 lab.py 检查 lab.yaml。\n")
    return {"lab.py": lab_py, "lab.yaml": lab_yaml, "README.md": readme, "README.zh.md": readme_zh}
