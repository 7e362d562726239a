"""Folders that ship with the source checkout, not with the package: ``bench/`` and ``tests/``.

``tickscope bench`` and ``tickscope fuzz`` run code from them when they are present. Where to look, in
order: the folder named by an environment variable, the folder of that name in the working directory, and
the one beside the checkout tickscope is installed from (an editable install). An installed wheel has none.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path


def find_folder(name: str, env_var: str, marker: str = "__init__.py") -> Path | None:
    """The first candidate folder ``name`` holding ``marker`` (a path relative to it), or None."""
    import tickscope

    candidates = [os.environ.get(env_var), Path.cwd() / name, Path(tickscope.__file__).resolve().parents[1] / name]
    for c in candidates:
        if c and (Path(c) / "__init__.py").is_file() and (Path(c) / marker).is_file():
            return Path(c).resolve()
    return None


def import_from(folder: Path | None, module: str, missing: str):
    """Import ``module`` with ``folder``'s parent on the import path; FileNotFoundError(``missing``) without one."""
    if folder is None:
        raise FileNotFoundError(missing)
    if str(folder.parent) not in sys.path:
        sys.path.insert(0, str(folder.parent))
    return importlib.import_module(module)
