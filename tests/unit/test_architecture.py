"""What installing tickscope puts on a machine, and the direction of its imports (docs/architecture.md).

The checks run on the wheel itself, built from this checkout: one top-level
name, no benchmarks or tests inside, the model artifacts and dashboard assets
included, every module importable from outside the repository, and the
import-linter contracts of pyproject.toml kept. The layer check is shown to
fail when one import is turned the wrong way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The wheel of this checkout, unpacked: exactly what ``pip install`` would put in site-packages."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a copy, so the build leaves nothing behind in the checkout
    folders = ["tickscope", *PYPROJECT["tool"]["setuptools"]["package-dir"].values()]
    for name in folders:
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, capture_output=True)
    wheel = next(out.glob("tickscope-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(out / "site")
    return out / "site"


def lint_imports(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), str(REPO / "pyproject.toml")], cwd=site.parent, text=True,
                          capture_output=True, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})


def test_one_top_level_name_and_nothing_of_the_benchmarks_or_tests(site):
    top = {p.name for p in site.iterdir() if not p.name.endswith(".dist-info")}
    assert top == {"tickscope"}
    names = {str(p.relative_to(site)) for p in site.rglob("*")}
    assert not any(part in ("bench", "tests") for n in names for part in Path(n).parts)
    assert any(n.startswith("tickscope/models/artifacts/") and n.endswith(".safetensors") for n in names)
    assert {"tickscope/models/artifacts/DEFAULT", "tickscope/dashboard/assets/style.css"} <= names
    assert any(n.startswith("tickscope/models/cards/") and n.endswith(".reference.json") for n in names)


def test_every_module_imports_from_outside_the_checkout(site, tmp_path):
    code = ("import importlib, pkgutil, tickscope\n"
            "assert tickscope.__file__.startswith(%r), tickscope.__file__\n"
            "names = [m.name for m in pkgutil.walk_packages(tickscope.__path__, 'tickscope.')\n"
            "         if not m.name.endswith('__main__')]\n"
            "for n in names: importlib.import_module(n)\n"
            "print(len(names))" % str(site))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip()) > 80  # every subpackage was walked, the mapped folders included


def test_the_package_list_names_every_folder_of_the_namespace():
    setuptools = PYPROJECT["tool"]["setuptools"]
    mapped = {pkg: REPO / folder for pkg, folder in setuptools["package-dir"].items()}
    found = {"tickscope"}
    for root_pkg, root_dir in [("tickscope", REPO / "tickscope"), *mapped.items()]:
        found.add(root_pkg)
        for init in root_dir.rglob("__init__.py"):
            rel = init.parent.relative_to(root_dir)
            if rel.parts and not {"__pycache__"} & set(rel.parts):
                found.add(".".join([root_pkg, *rel.parts]))
    assert set(setuptools["packages"]) == found


def test_imports_point_one_way(site):
    done = lint_imports(site)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_an_import_turned_the_wrong_way_is_caught(site, tmp_path):
    """The layer check can fail: a contract module importing the CLI breaks it, and the report names both."""
    bad = tmp_path / "site"
    shutil.copytree(site, bad)
    ids = bad / "tickscope" / "contracts" / "ids.py"
    ids.write_text(ids.read_text() + "\nfrom tickscope.cli import main  # noqa: E402 - wrong way on purpose\n")
    done = lint_imports(bad)
    assert done.returncode != 0
    assert "tickscope.contracts.ids -> tickscope.cli" in done.stdout, done.stdout[-3000:]
