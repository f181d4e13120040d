"""Helpers live in tests/support.py (and tests/integration/support.py): no test imports a conftest module."""

from __future__ import annotations

import ast

from tests.support import ROOT


def conftest_imports(path) -> list[str]:
    """Each import of a conftest module in the file at PATH, as "line: module"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or ""] + [f"{node.module or ''}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        if any("conftest" in module.split(".") for module in modules):
            found.append(f"{node.lineno}: {node.module if isinstance(node, ast.ImportFrom) else modules[0]}")
    return found


def test_no_test_module_imports_a_conftest_module():
    tests = ROOT / "tests"
    offenders = {}
    for path in sorted(tests.rglob("*.py")):
        if {"fixtures", "hostile"} & set(path.relative_to(tests).parts):
            continue  # the labs' programs, not tests
        if found := conftest_imports(path):
            offenders[str(path.relative_to(ROOT))] = found
    assert not offenders, f"import helpers from tests/support.py instead: {offenders}"


def test_the_scan_sees_every_way_to_import_a_conftest(tmp_path):
    module = tmp_path / "test_x.py"
    module.write_text("import tests.conftest\nfrom tests.integration.conftest import rows_at\n"
                      "from tests import conftest\nfrom . import conftest as c\nfrom tests.support import ROOT\n",
                      encoding="utf-8")
    assert [line.split(":")[0] for line in conftest_imports(module)] == ["1", "2", "3", "4"]
