"""`invoke handout`: the students' copy of the course, written whole to one folder.

The copy holds the kit (tasks.py, forklab/, containers/, the README) and
every lab with its lesson, less what would give an answer away:

* each exercise's solution.py (its starter.py stays: it is what students get),
  its hidden checks, and its claims with their verdicts (claims.yaml keeps only
  the claims some lab still tests);
* in every lab.yaml with `predict:` questions, the checks that state a
  question's answer (a `lines` check on the answer's pattern, the `processes`
  count, the states at a `zombies_at` checkpoint, the parent a `parent` answer
  asks for, the `stop` signal, the `orders` count): the run still shows the answer, after the
  student has predicted it.

`invoke check N` works inside the copy (its working copies go to work/ there),
and so does `invoke lab N` for every lab that is not an exercise.  The copy is
built beside DIR and swapped in at the end; DIR is replaced only when it is
empty or a handout made before.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from forklab import catalog
from forklab.errors import EnvironmentProblem, UsageError

#: What of the course's folder a student gets.  Tests, benchmarks, reports,
#: CI and the students' own work/ stay behind.
TOP = ("README.md", "pyproject.toml", "tasks.py", "invoke.yaml", "docker-compose.yml", ".gitattributes",
       ".dockerignore", "forklab", "containers", "labs", "docs")
#: A file in each handout, so that a later `invoke handout` knows the folder is one to replace.
MARKER = ".forklab-handout"
#: A handout holds text and a few pictures: far less than this.
MAX_FILE_BYTES = 8 * 1024 * 1024


def write(root: Path, labs_dir: Path, out: Path) -> dict:
    """Make the handout of the course at ``root`` in ``out``; what was left out, counted."""
    out = Path(os.path.abspath(out))
    _refuse_bad_place(root, out)
    files, summary = _contents(root, labs_dir)
    summary["folder"] = out
    _swap_in(out, files)
    return summary


def _refuse_bad_place(root: Path, out: Path) -> None:
    real_root, real_out = Path(os.path.realpath(root)), Path(os.path.realpath(out))
    if real_out == real_root or real_out in real_root.parents:
        raise UsageError(f"--out {out}: holds the course itself; give a new folder, e.g. --out handout")
    for name in TOP:
        source = real_root / name
        if real_out == source or source in real_out.parents:
            raise UsageError(f"--out {out}: inside {name}, which the handout copies; give a folder outside it")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(f"--out {out}: is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(f"--out {out}: a folder that is not empty and not a handout; choose another "
                         "folder (the handout replaces it whole)")


def _contents(root: Path, labs_dir: Path) -> tuple[dict[str, bytes], dict]:
    """Every file of the handout, by its path inside it, and what was left out."""
    summary = {"labs": 0, "exercises": 0, "solutions": 0, "hidden": 0, "answers": 0, "claims": 0}
    found = catalog.find_labs(labs_dir)
    labs = {number: catalog.load_lab(path) for number, path in found.items()}  # a broken lab.yaml stops it
    files: dict[str, bytes] = {MARKER: b"made by `invoke handout`; the next one replaces this folder whole\n"}
    for name in TOP:
        path = root / name
        if name == "labs" or not (path.exists() or path.is_symlink()):
            continue
        if path.is_dir():
            for relative, data in catalog.folder_files(path, 64 * MAX_FILE_BYTES, "a handout copies",
                                                       keep=_not_built):
                files[f"{name}/{relative}"] = data
        else:
            files[name] = catalog.read_file(path, Path(os.path.realpath(root)), MAX_FILE_BYTES)
    kept_claims: set = set()
    for _number, lab in sorted(labs.items()):
        folder = f"labs/{lab.path.name}"
        exercise = lab.spec.kind == "exercise"
        summary["exercises" if exercise else "labs"] += 1
        for relative, data in catalog.folder_files(lab.path, 64 * MAX_FILE_BYTES, "a handout copies",
                                                   keep=_not_built):
            if exercise and relative == catalog.SOLUTION:
                summary["solutions"] += 1
                continue
            if relative == "lab.yaml":
                data = _students_lab_yaml(data, exercise, summary)
            files[f"{folder}/{relative}"] = data
        if not exercise:
            kept_claims |= {claim.id for claim in lab.spec.claims if claim.id}
    for relative, data in _labs_dir_files(labs_dir):
        if relative == catalog.CLAIMS_FILE:
            data = _students_claims(data, kept_claims, summary)
        files[f"labs/{relative}"] = data
    return files, summary


def _not_built(relative: Path) -> bool:
    return not any(part.endswith(".egg-info") or part == "__pycache__" for part in relative.parts)


def _labs_dir_files(labs_dir: Path) -> list[tuple[str, bytes]]:
    """The files directly in labs/ (claims.yaml, the glossary), not the lab folders."""
    real = Path(os.path.realpath(labs_dir))
    return [(path.name, catalog.read_file(path, real, MAX_FILE_BYTES))
            for path in sorted(labs_dir.iterdir()) if path.is_file() and not path.name.startswith(".")]


def _dump(data) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100).encode("utf-8")


def _students_lab_yaml(raw: bytes, exercise: bool, summary: dict) -> bytes:
    """lab.yaml less its hidden checks, an exercise's claims, and the checks that answer a prediction."""
    data = yaml.safe_load(raw.decode("utf-8"))
    changed = False
    runs = [data] + list(data.get("variants") or [])
    for run in runs:
        expect = list(run.get("expect") or [])
        kept = [check for check in expect if not check.get("hidden")]
        summary["hidden"] += len(expect) - len(kept)
        before = len(kept)
        kept = [check for check in kept if not any(_answers(check, question.get("answer") or {})
                                                   for question in data.get("predict") or [])]
        summary["answers"] += before - len(kept)
        if len(kept) != len(expect):
            run["expect"], changed = kept, True
    if exercise and data.get("claims"):
        summary["claims"] += len(data["claims"])
        del data["claims"]
        changed = True
    if not changed:
        return raw
    header = b"# The students' copy (invoke handout): some checks and claims of the course's lab.yaml are left out.\n"
    return header + _dump(data)


def _answers(check: dict, answer: dict) -> bool:
    """Whether ``check`` states what a prediction asks (so that reading lab.yaml would answer it)."""
    kind = check.get("check")
    if answer.get("lines") is not None:
        return kind == "lines" and answer["lines"].strip("^$") in str(check.get("match", ""))
    if answer.get("processes"):
        return kind == "processes"
    if answer.get("stop"):
        return kind == "stop"
    if answer.get("orders") or answer.get("possible") is not None:
        return kind == "orders"  # how many outputs, and so which ones are possible
    if answer.get("zombies_at") is not None:
        return kind == "state" and check.get("checkpoint") == answer["zombies_at"]
    if answer.get("parent"):
        role, checkpoint = str(answer["parent"]).split("@", 1)
        return kind == "parent" and check.get("role") == role and check.get("checkpoint") == checkpoint
    return False


def _students_claims(raw: bytes, kept: set, summary: dict) -> bytes:
    """claims.yaml with only the claims a lab in the handout still tests."""
    claims = yaml.safe_load(raw.decode("utf-8")) or []
    remaining = [claim for claim in claims if claim.get("id") in kept]
    if len(remaining) == len(claims):
        return raw
    summary["claims"] += len(claims) - len(remaining)
    return _dump(remaining)


def _swap_in(out: Path, files: dict[str, bytes]) -> None:
    """Write every file into a new folder beside ``out``, then put it in ``out``'s place
    (report.write_report, which swaps reports in the same way)."""
    from forklab.commands import DISK_FULL
    from forklab.report import write_report

    try:
        write_report(out, files)
    except OSError as exc:
        where = exc.filename or out
        if exc.errno in DISK_FULL:
            raise EnvironmentProblem(f"{where}: the disk is full ({exc.strerror}); free some space "
                                     "(the previous handout is kept)") from None
        raise UsageError(f"{where}: the handout cannot be written there ({exc.strerror}); "
                         "give another --out") from None
