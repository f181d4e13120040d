"""What runs inside the container is the standard library's and its own, nothing else.

The image has no pip packages in its runtime stage (containers/Dockerfile),
and Gradescope's runtime copies only forklab.inside.IMAGE_FILES; a module
there that imported pydantic or forklab.catalog would break both, first in a
student's run.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from forklab.inside import IMAGE_FILES
from tests.support import ROOT

PACKAGE = ROOT / "forklab"


def imports_of(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_image_s_files_import_only_the_standard_library_and_each_other():
    if not hasattr(sys, "stdlib_module_names"):
        pytest.skip("needs Python 3.10's list of the standard library's modules")
    allowed = {name.removesuffix(".py").replace("/", ".").removesuffix(".__init__") for name in IMAGE_FILES}
    allowed = {f"forklab.{name}" if name != "__init__" else "forklab" for name in allowed}
    for name in IMAGE_FILES:
        for module in imports_of(PACKAGE / name):
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or module in allowed | {"__future__"}, \
                f"forklab/{name} imports {module}, which the lab image does not have"


def test_every_module_of_the_inside_package_is_in_the_image():
    inside = sorted(f"inside/{path.name}" for path in (PACKAGE / "inside").glob("*.py"))
    assert inside and set(inside) <= set(IMAGE_FILES)


def test_the_old_names_are_the_same_modules(tmp_path):
    # Labs write `from forklab.checkpoint import checkpoint`; tests and scripts patch forklab.runner.
    from forklab import checkpoint, runner
    from forklab.inside import checkpoint as inside_checkpoint
    from forklab.inside import runner as inside_runner

    assert runner is inside_runner and checkpoint is inside_checkpoint
    done = subprocess.run([sys.executable, "-m", "forklab.checkpoint"], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 1 and "usage: python3 -m forklab.checkpoint lab.py" in done.stderr
    done = subprocess.run([sys.executable, "-m", "forklab.runner", "--help"], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 0 and "python3 -m forklab.runner" in done.stdout
