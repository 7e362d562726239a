"""The Dockerfile and its build context."""

from __future__ import annotations

import json
import re
import tomllib

from tests.support.deploy_files import (
    FIELD_DEFAULT,
    ROOT,
)


def test_dockerfile():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms, "no FROM"
    bases = {args.get(f[2:-1], f) if f.startswith("${") else f for f in froms}
    assert bases == {"python:3.11-slim"}

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    torch_pin = next(d for d in pyproject["project"]["dependencies"] if d.replace(" ", "").startswith("torch=="))
    assert args.get("TORCH_VERSION") == torch_pin.split("==", 1)[1], "Dockerfile torch differs from pyproject pin"
    assert args.get("TORCH_INDEX_URL") == "https://download.pytorch.org/whl/cpu"
    assert re.search(r"pip install --index-url \$\{TORCH_INDEX_URL\} torch==\$\{TORCH_VERSION\}", text)
    assert re.search(r"pip install \.(\s|$)", text)

    final = text[text.rindex("\nFROM "):]
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "final stage must run as a non-root user"
    cmds = re.findall(r"^CMD\s+(.+)$", final, re.M)
    assert cmds and json.loads(cmds[-1]) == ["tickscope", "worker"]
    exposed = {p for line in re.findall(r"^EXPOSE\s+(.+)$", final, re.M) for p in line.split()}
    assert {str(FIELD_DEFAULT["metrics_port"]), str(FIELD_DEFAULT["dashboard_port"])} <= exposed


def test_dockerignore_keeps_the_packages():
    lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    patterns = [ln for ln in lines if ln and not ln.startswith("#")]
    assert patterns[0] == "*", "expected a whitelist (.dockerignore starting with '*')"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = pyproject["tool"]["setuptools"]
    folders = {p.split(".")[0] for p in setuptools["packages"]}
    folders |= {d.split("/")[0] for d in setuptools["package-dir"].values()}
    for pkg in sorted(folders) + ["pyproject.toml"]:
        assert f"!{pkg}/" in patterns or f"!{pkg}" in patterns, f"{pkg} is not in the Docker build context"
    excluded = [p for p in patterns if not p.startswith("!")]
    assert not any(("safetensors" in p or "artifacts" in p or p.startswith("models")) for p in excluded), \
        "model artifacts must stay in the build context"
    assert not any(p.startswith("!") and ("venv" in p or ".git" in p or ".env" in p) for p in patterns)


# ----------------------------------------------------------------- compose


