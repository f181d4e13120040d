"""A validated lab.yaml is kept by content: any change to what it was made from is read again."""

from __future__ import annotations

import pytest

from forklab import catalog
from forklab.errors import UsageError
from tests.support import GOOD, make_lab


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A cache folder of the test's own, and nothing kept in memory from before."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(catalog, "_SPECS", {})
    return tmp_path / "cache" / "forklab" / "labs"


def _forget_in_memory(monkeypatch):
    """As a new process would start: only the cache folder remembers."""
    monkeypatch.setattr(catalog, "_SPECS", {})


def test_a_second_load_gives_the_same_lab_from_the_cache(tmp_path, own_cache, monkeypatch):
    folder = make_lab(tmp_path / "labs", GOOD)
    first = catalog.load_lab(folder)
    assert len(list(own_cache.glob("*.spec"))) == 1
    _forget_in_memory(monkeypatch)
    monkeypatch.setattr(catalog.LabSpec, "model_validate", lambda *a, **k: pytest.fail("validated again"))
    second = catalog.load_lab(folder)
    assert second.spec == first.spec and second.archive == first.archive


def test_an_edited_lab_yaml_is_read_again(tmp_path, monkeypatch):
    folder = make_lab(tmp_path / "labs", GOOD)
    assert catalog.load_lab(folder).spec.title == "A lab"
    (folder / "lab.yaml").write_text(GOOD.replace("title: A lab", "title: Another"), encoding="utf-8")
    assert catalog.load_lab(folder).spec.title == "Another"
    _forget_in_memory(monkeypatch)
    assert catalog.load_lab(folder).spec.title == "Another"


def test_an_edited_lab_py_is_shipped_as_it_is_now(tmp_path):
    folder = make_lab(tmp_path / "labs", GOOD)
    before = catalog.load_lab(folder).archive
    (folder / "lab.py").write_text("print('bye')\n", encoding="utf-8")
    assert catalog.load_lab(folder).archive != before


def test_an_edited_claims_yaml_is_read_again(tmp_path, monkeypatch):
    labs = tmp_path / "labs"
    folder = make_lab(labs, GOOD + "claims: [{id: a-claim, shows: it}]\n")
    claims = labs / "claims.yaml"
    claims.write_text("- {id: a-claim, zh: 一句话, en: A sentence, verdict: 'true', why: Because.}\n",
                      encoding="utf-8")
    assert catalog.load_lab(folder).spec.claims[0].en == "A sentence"
    claims.write_text("- {id: a-claim, zh: 一句话, en: Another sentence, verdict: 'true', why: Because.}\n",
                      encoding="utf-8")
    _forget_in_memory(monkeypatch)
    assert catalog.load_lab(folder).spec.claims[0].en == "Another sentence"
    claims.unlink()
    with pytest.raises(UsageError, match="no claim 'a-claim'"):
        catalog.load_lab(folder)


def test_another_kit_never_uses_what_this_one_kept(tmp_path, own_cache, monkeypatch):
    folder = make_lab(tmp_path / "labs", GOOD)
    catalog.load_lab(folder)
    _forget_in_memory(monkeypatch)
    monkeypatch.setattr(catalog, "_KIT_STAMP", [b"another kit"])
    validated = []
    original = catalog._validated
    monkeypatch.setattr(catalog, "_validated", lambda *a: validated.append(1) or original(*a))
    catalog.load_lab(folder)
    assert validated == [1]


def test_a_broken_cache_file_is_read_past(tmp_path, own_cache, monkeypatch):
    folder = make_lab(tmp_path / "labs", GOOD)
    expected = catalog.load_lab(folder).spec
    [kept] = own_cache.glob("*.spec")
    data = kept.read_bytes()
    for broken in (b"", data[:len(data) // 2], data.split(b"\n")[0] + b"\nnot a pickle", b"\x00" * 10):
        kept.write_bytes(broken)
        _forget_in_memory(monkeypatch)
        assert catalog.load_lab(folder).spec == expected


def test_a_cache_folder_that_cannot_be_written_only_costs_time(tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would go", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    folder = make_lab(tmp_path / "labs", GOOD)
    assert catalog.load_lab(folder).spec.title == "A lab"


def test_an_invalid_lab_yaml_is_refused_every_time(tmp_path, own_cache):
    folder = make_lab(tmp_path / "labs", GOOD + "colour: blue\n")
    for _ in range(2):
        with pytest.raises(UsageError, match="colour: unknown key"):
            catalog.load_lab(folder)
    assert not list(own_cache.glob("*.spec"))


def test_the_folder_name_is_checked_on_every_load(tmp_path, monkeypatch):
    good = make_lab(tmp_path / "labs", GOOD)
    catalog.load_lab(good)
    renamed = good.rename(good.with_name("08-a-lab"))
    _forget_in_memory(monkeypatch)
    for _ in range(2):
        with pytest.raises(UsageError, match="does not match the folder"):
            catalog.load_lab(renamed)


def test_the_cache_folder_stays_small(tmp_path, own_cache, monkeypatch):
    monkeypatch.setattr(catalog, "MAX_CACHED_SPECS", 4)
    for index in range(7):
        catalog.load_lab(make_lab(tmp_path / f"labs{index}", GOOD))
    assert len(list(own_cache.glob("*.spec"))) <= 4
