"""The package itself: public names, version, packaging metadata."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

import cvxdual

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_are_importable():
    assert all(hasattr(cvxdual, name) for name in cvxdual.__all__)


def test_version_is_written_once_and_is_pep440():
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", cvxdual.__version__)
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "cvxdual.__version__"
    }


def test_installed_metadata_matches_when_installed_from_this_tree():
    try:
        installed = metadata.version("cvxdual")
    except metadata.PackageNotFoundError:
        pytest.skip("cvxdual is not installed")
    dist = metadata.distribution("cvxdual")
    if Path(str(dist.locate_file("cvxdual"))).resolve() != Path(cvxdual.__file__).parent:
        pytest.skip("the installed cvxdual is another copy")
    assert installed == cvxdual.__version__


def test_license_file_matches_the_declared_license():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "BSD-3-Clause"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License")
    assert "The cvxdual developers" in text


def test_direct_imports_are_declared_dependencies():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[<>=!~ \[]", dep, maxsplit=1)[0] for dep in project["dependencies"]}
    # import name -> distribution name
    distributions = {"sklearn": "scikit-learn"}
    imported = set()
    for path in (ROOT / "cvxdual").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    optional = {"pandas", "matplotlib"}  # imported lazily by cvxdual.report and the demo
    stdlib = set(sys.stdlib_module_names)
    third_party = {name for name in imported if name not in stdlib | optional | {"cvxdual"}}
    assert {distributions.get(name, name) for name in third_party} <= declared
    assert project["optional-dependencies"]["test"][0] == "cvxdual[notebooks]"
