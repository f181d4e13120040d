"""Writing labs: invoke new, invoke check-lab (lab.yaml read against lab.py) and lab.yaml's JSON schema (no engine)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from forklab import authoring, catalog
from tests.support import ROOT

CLAIMS = (ROOT / "labs" / "claims.yaml").read_text(encoding="utf-8")

LAB_PY = """\
import os
from forklab.checkpoint import checkpoint

pid = os.fork()
if pid == 0:
    checkpoint("in-child", child=os.getpid())
    os._exit(0)
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
checkpoint("zombie", parent=os.getpid(), child=pid)
os.waitpid(pid, 0)
"""

LAB_YAML = """\
number: 7
title: A lab
summary: What it shows.
key_checkpoint: zombie
expect:
  - {check: state, checkpoint: zombie, role: child, state: Z}
  - {check: parent, checkpoint: in-child, role: child, parent: parent}
  - {check: state, checkpoint: end, role: reaper, state: R}
  - {check: exit, role: main.1, code: 0}
"""


def lab_at(tmp_path: Path, yaml_text: str = LAB_YAML, program: str = LAB_PY, folder: str = "07-a-lab") -> Path:
    path = tmp_path / folder
    path.mkdir(parents=True)
    (path / "lab.py").write_text(textwrap.dedent(program), encoding="utf-8")
    (path / "lab.yaml").write_text(yaml_text, encoding="utf-8")
    return path


def findings(tmp_path: Path, yaml_text: str = LAB_YAML, program: str = LAB_PY) -> list[authoring.Finding]:
    return authoring.check_lab(catalog.load_lab(lab_at(tmp_path, yaml_text, program)))


# -- reading a program ---------------------------------------------------------------------

def test_a_program_s_checkpoints_and_roles_are_read_from_its_syntax_tree():
    program = authoring.read_program(textwrap.dedent("""\
        import forklab.checkpoint
        from forklab.checkpoint import checkpoint as mark
        mark("one", parent=1)
        forklab.checkpoint.checkpoint(name="two", child=2)
        print("checkpoint('not-a-call')")
        checkpoint = print  # whatever it is, a call by that name counts
        checkpoint("three")
    """))
    assert program.names == {"one": 3, "two": 4, "three": 7}
    assert program.roles == {"parent", "child"}
    assert program.unknown_names == [] and program.unknown_roles == []


def test_names_and_roles_passed_to_a_helper_are_read_at_its_calls():
    program = authoring.read_program(textwrap.dedent("""\
        from forklab.checkpoint import checkpoint
        def look(name, **roles):
            checkpoint(name, parent=1, **roles)
        look("after-exec", child=5)
        look(name="before-exec", other=6)
    """))
    assert set(program.names) == {"after-exec", "before-exec"}
    assert program.roles == {"parent", "child", "other"}
    assert program.unknown_names == [] and program.unknown_roles == []


def test_what_is_built_at_run_time_is_said_to_be_unknown():
    program = authoring.read_program(textwrap.dedent("""\
        from forklab.checkpoint import checkpoint
        step = "x"
        checkpoint(step + "-ended", **dict(a=1))
        checkpoint(f"{step}-ran", b=2)
        def look(name):
            checkpoint(name)
        look(step)
    """))
    assert program.names == {}
    assert program.unknown_names == [3, 4, 7] and program.unknown_roles == [3]
    assert program.roles == {"b"}


# -- checking a lab --------------------------------------------------------------------------

def test_a_lab_that_agrees_with_its_program_has_nothing_wrong(tmp_path):
    # main.1 (the fork tree), reaper and the end snapshot need no checkpoint() call.
    assert findings(tmp_path) == []


def test_every_shipped_lab_has_nothing_wrong_it_can_tell():
    for _number, path in sorted(catalog.find_labs(ROOT / "labs").items()):
        wrong = [f for f in authoring.check_lab(catalog.load_lab(path)) if f.certain]
        assert not wrong, f"{path.name}: {wrong}"


def test_a_checkpoint_that_never_happens_is_named_with_its_places(tmp_path):
    text = LAB_YAML.replace("key_checkpoint: zombie", "key_checkpoint: zombi") + \
        "  - {check: absent, checkpoint: zombi, role: child}\n"
    [finding] = findings(tmp_path, text)
    assert finding.certain
    assert finding.where == "lab.yaml key_checkpoint, expect[4].checkpoint"
    assert finding.text == ("no checkpoint('zombi') in lab.py, so this never happens (its checkpoints: in-child, "
                            "zombie); did you mean zombie?")


def test_a_role_nobody_has_is_named(tmp_path):
    text = LAB_YAML + "  - {check: reaped, role: chlid, by: reaper}\n" \
        "  - {check: lines, match: '{pid:ghost}', count: 1}\n"
    first, second = findings(tmp_path, text)
    assert first.where == "lab.yaml expect[4].role" and first.text.startswith(
        "no process is named chlid: no checkpoint() in lab.py gives that keyword (its roles: child, parent;")
    assert first.text.endswith("; did you mean child?")
    assert second.where == "lab.yaml expect[5].match" and "named ghost" in second.text


def test_predictions_and_the_runner_s_own_snapshots_are_checked_too(tmp_path):
    text = LAB_YAML + ("predict:\n  - {ask: 'Who?', answer: {zombies_at: start}}\n"
                       "  - {ask: 'Whose?', answer: {parent: 'orphan@zombie'}}\n")
    start, orphan = findings(tmp_path / "a", text)
    assert start.where == "lab.yaml predict[0].answer.zombies_at" and "checkpoint('start')" in start.text
    assert orphan.where == "lab.yaml predict[1].answer.parent" and "named orphan" in orphan.text
    # With snapshot_start, the runner takes the start snapshot itself.
    assert len(findings(tmp_path / "b", text + "run: {snapshot_start: true}\n")) == 1


def test_names_built_at_run_time_are_what_it_cannot_tell(tmp_path):
    program = LAB_PY.replace('checkpoint("zombie", parent=os.getpid(), child=pid)',
                             'checkpoint("zom" + "bie", parent=os.getpid(), child=pid)')
    [name] = findings(tmp_path / "a", LAB_YAML, program)
    assert not name.certain and name.where == "lab.yaml key_checkpoint, expect[0].checkpoint"
    assert name.text == ("cannot tell whether checkpoint 'zombie' happens: lab.py builds some checkpoint names "
                         "at run time (lab.py:9)")
    program = LAB_PY.replace("parent=os.getpid(), child=pid", "**{'parent': os.getpid(), 'child': pid}")
    [role] = findings(tmp_path / "b", LAB_YAML, program)  # child is named in-child; parent only here
    assert not role.certain and role.where == "lab.yaml expect[1].parent"
    assert role.text == "cannot tell whether a process is named parent: lab.py names some roles at run time (lab.py:9)"


def test_a_program_that_does_not_parse_is_said_so(tmp_path):
    [finding] = findings(tmp_path, LAB_YAML, "checkpoint('x'\n")
    assert finding.where == "lab.py" and finding.text.startswith("not valid Python (line 1): ")


def test_check_lab_exits_0_1_or_2(cli, tmp_path):
    labs = tmp_path / "labs"
    lab_at(labs, folder="07-a-lab")
    lab_at(labs, LAB_YAML.replace("number: 7", "number: 8").replace("key_checkpoint: zombie", "key_checkpoint: x"),
           folder="08-wrong")
    code, out, err = cli("check-lab", "7", labs=labs)
    assert (code, out, err) == (0, "✓ 07-a-lab: nothing wrong\n", "")
    code, out, err = cli("check-lab", labs=labs)
    assert code == 1 and err == ""
    assert out.splitlines() == ["✓ 07-a-lab: nothing wrong", "✗ 08-wrong: 1 problem(s)",
                                "    lab.yaml key_checkpoint: no checkpoint('x') in lab.py, so this never happens "
                                "(its checkpoints: in-child, zombie)"]
    code, out, err = cli("check-lab", "--lang", "zh", "8", labs=labs)
    assert code == 1 and out.startswith("✗ 08-wrong: 1 个问题\n") and "永远不会出现" in out
    (labs / "08-wrong" / "lab.yaml").write_text("number: 8\ntitle: x\n", encoding="utf-8")
    code, out, err = cli("check-lab", labs=labs)
    assert code == 2 and "✗ 08-wrong: " in out and "summary: required but missing" in out
    code, out, err = cli("check-lab", "8", labs=labs)
    assert code == 2 and out == "" and err.startswith("forklab: ") and err.count("\n") == 1
    code, out, err = cli("check-lab", "9", labs=labs)
    assert code == 2 and err.startswith("forklab: there is no lab 09;")


# -- invoke new --------------------------------------------------------------------------------

@pytest.fixture
def labs(tmp_path):
    folder = tmp_path / "labs"
    folder.mkdir()
    (folder / "claims.yaml").write_text(CLAIMS, encoding="utf-8")
    return folder


def test_new_writes_a_lab_that_loads_and_agrees_with_its_program(cli, labs):
    code, out, err = cli("new", "13", "zombie-race", labs=labs)
    assert code == 0, err
    folder = labs / "13-zombie-race"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "README.zh.md", "lab.py", "lab.yaml"]
    assert out.splitlines()[0] == f"wrote {folder}: README.md, README.zh.md, lab.py, lab.yaml"
    lab = catalog.load_lab(folder)
    assert (lab.number, lab.spec.title, lab.key_checkpoint) == (13, "Zombie race", "child-exited")
    [claim] = lab.spec.claims
    assert claim.verdict == "true" and claim.zh and claim.en and claim.why
    assert {check.check for check in lab.spec.expect} == {"state", "absent", "lines", "exit"}
    assert authoring.check_lab(lab) == []
    assert (folder / "lab.yaml").read_text(encoding="utf-8").startswith(authoring.SCHEMA_LINE + "\n")
    assert "../GLOSSARY.zh.md" in (folder / "README.zh.md").read_text(encoding="utf-8")
    assert cli("check-lab", "13", labs=labs)[0] == 0


def test_new_can_test_a_claim_of_claims_yaml(cli, labs):
    assert cli("new", "5", "orphans", "--claim", "orphan", labs=labs)[0] == 0
    [claim] = catalog.load_lab(labs / "05-orphans").spec.claims
    home = catalog.shared_claims(labs)["orphan"]
    assert (claim.id, claim.zh, claim.verdict) == ("orphan", home.zh, home.verdict)
    assert claim.shows == "What this lab's run shows about it."


@pytest.mark.parametrize("argv, message", [
    (["new", "3", "again"], "forklab: lab 03 is 03-taken already; choose another number (the labs are 03-taken)\n"),
    (["new", "4", "Bad_Slug"], "forklab: 'Bad_Slug' is not a slug: lower-case letters and digits in words joined "
                               "by '-', at most 40 characters (e.g. zombie-race)\n"),
    (["new", "4", "-x"], None),
    (["new", "100", "x"], "forklab: '100' is not a lab number; give one from 1 to 99\n"),
    (["new", "0", "x"], "forklab: '0' is not a lab number; give one from 1 to 99\n"),
    (["new", "4", "x", "--claim", "nope"], None),
    (["new", "4"], None),
])
def test_new_refuses_in_one_line_and_writes_nothing(cli, labs, argv, message):
    (labs / "03-taken").mkdir()
    before = sorted(p.name for p in labs.iterdir())
    code, out, err = cli(*argv, labs=labs)
    assert code == 2 and out == ""
    assert err.startswith("forklab: ") and err.count("\n") == 1, err
    if message:
        assert err == message
    assert sorted(p.name for p in labs.iterdir()) == before


def test_new_refuses_a_folder_that_exists(cli, labs):
    (labs / "04-x").write_text("a file, not a lab", encoding="utf-8")  # not a lab folder, yet the name is taken
    code, out, err = cli("new", "4", "x", labs=labs)
    assert (code, err) == (2, f"forklab: {labs / '04-x'}: already exists; choose another slug\n")


# -- lab.yaml's JSON schema -------------------------------------------------------------------

def test_the_committed_schema_is_the_one_the_model_makes():
    committed = (ROOT / "labs" / authoring.SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == authoring.schema_text(), "lab.yaml's model changed: run `invoke schema` and commit it"


def test_the_schema_describes_lab_yaml():
    schema = json.loads(authoring.schema_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"number", "title", "summary"}
    assert schema["additionalProperties"] is False  # an unknown key is flagged in the editor too
    assert {"predict", "output_order", "pid_patterns", "variants", "expect"} <= set(schema["properties"])
    kinds = schema["properties"]["expect"]["items"]["discriminator"]["mapping"]
    assert set(kinds) == set(catalog.CHECK_KINDS)
    variant = schema["$defs"]["Variant"]["properties"]
    assert {"env", "args"} <= set(variant)


def test_the_readme_shows_the_line_that_points_editors_to_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert authoring.SCHEMA_LINE in readme and "invoke schema" in readme
