"""One verdict per sentence: every claim has one home (labs/claims.yaml), labs refer to it by id."""

from __future__ import annotations

import shutil

import pytest

from forklab import catalog
from forklab.errors import UsageError
from tests.support import ROOT

LABS = ROOT / "labs"


def all_labs() -> list[catalog.Lab]:
    return [catalog.load_lab(path) for _, path in sorted(catalog.find_labs(LABS).items())]


def test_no_sentence_has_two_verdicts_anywhere():
    verdicts: dict[str, set] = {}
    for lab in all_labs():
        for claim in lab.spec.claims:
            verdicts.setdefault(claim.zh, set()).add(claim.verdict)
    assert verdicts, "the labs quote no claim"
    split = {sentence: sorted(found) for sentence, found in verdicts.items() if len(found) > 1}
    assert not split, f"sentences with more than one verdict: {split}"


def test_every_shared_claim_is_tested_by_a_lab_and_says_what_this_lab_shows():
    used = {claim.id for lab in all_labs() for claim in lab.spec.claims}
    assert set(catalog.shared_claims(LABS)) == used
    for lab in all_labs():
        for claim in lab.spec.claims:
            assert claim.why and claim.shows, f"lab {lab.number:02d}: claim {claim.id} needs why and shows"


def test_a_quote_is_one_sentence_as_printed():
    # One line of the page each: a claim never joins two lines with punctuation of its own.
    for claim in catalog.shared_claims(LABS).values():
        assert "\n" not in claim.zh and not claim.zh.endswith((",", ",")), claim.id


def _lab_copy(tmp_path, claims_text: str):
    labs = tmp_path / "labs"
    folder = labs / "13-mine"
    shutil.copytree(LABS / "01-fork-returns", folder, ignore=shutil.ignore_patterns("README*"))
    shutil.copy(LABS / "claims.yaml", labs / "claims.yaml")
    text = (folder / "lab.yaml").read_text(encoding="utf-8").replace("number: 1\n", "number: 13\n")
    start = text.index("claims:\n")
    end = text.index("\n# Where the output prints pids")
    (folder / "lab.yaml").write_text(text[:start] + claims_text + text[end:], encoding="utf-8")
    return folder


def test_a_lab_that_quotes_a_shared_sentence_again_is_told_its_id(tmp_path):
    folder = _lab_copy(tmp_path, 'claims:\n  - zh: "僵尸进程: 子进程先死掉,父进程还没死掉的父进程"\n'
                                 '    en: "The zombie is the parent."\n    verdict: "true"\n')
    with pytest.raises(UsageError) as caught:
        catalog.load_lab(folder)
    assert "this claim is 'zombie-is-the-parent'" in caught.value.message
    assert "write `- id: zombie-is-the-parent`" in caught.value.message


def test_an_unknown_claim_id_names_the_known_ones(tmp_path):
    folder = _lab_copy(tmp_path, "claims:\n  - id: zombies-are-parents\n    shows: something\n")
    with pytest.raises(UsageError) as caught:
        catalog.load_lab(folder)
    assert "claims[0].id: no claim 'zombies-are-parents'" in caught.value.message
    assert "zombie-is-the-parent" in caught.value.message


def test_a_lab_may_test_a_claim_of_its_own(tmp_path):
    folder = _lab_copy(tmp_path, 'claims:\n  - zh: "子进程先于父进程运行"\n    en: "The child runs first."\n'
                                 '    verdict: "false"\n    why: "The scheduler decides."\n'
                                 '    source: "a lecture slide"\n')
    [claim] = catalog.load_lab(folder).spec.claims
    assert (claim.verdict, claim.source) == ("false", "a lecture slide")


def test_claims_yaml_refuses_one_sentence_twice(tmp_path):
    folder = _lab_copy(tmp_path, "claims:\n  - id: orphan\n    shows: it is adopted\n")
    text = (folder.parent / "claims.yaml").read_text(encoding="utf-8")
    text += ('\n- id: orphan-again\n  zh: "孤儿进程:父进程死了,子进程还没死掉的子进程"\n  en: "Again."\n'
             '  verdict: "false"\n  why: "A second verdict."\n')
    (folder.parent / "claims.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        catalog.load_lab(folder)
    assert "quote the same sentence; a sentence has one claim and one verdict" in caught.value.message
