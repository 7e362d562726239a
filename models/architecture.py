"""Which torch module an artifact's weights belong to, and how it is built without trusting the artifact.

An artifact names its architecture in its metadata (``architecture``)::

    {"class": "package.module:ClassName", "kwargs": {"n_features": 6, "hidden": 32}}
    {"entry_point": "name", "kwargs": {...}}          # group "tickscope.models" of an installed package

The artifact holds weights and JSON only (safetensors), never code: the class is
code already installed on this machine. What may be named is limited, because an
artifact can come from the data directory, which an insider can write to:

- tickscope's own architectures (``tickscope.models.*``) and every entry point of
  the group ``tickscope.models`` (installing a package is the act of trust);
- any other module only if its top-level package is listed in
  ``TICKSCOPE_MODEL_MODULES`` (comma separated);
- and in every case the named object must be a ``torch.nn.Module`` subclass
  before it is called: ``subprocess:Popen`` with a command as kwargs is refused
  unimported, ``torch.nn:Module`` look-alikes that are not classes are refused.

Models written before this metadata existed are AttentionLSTMs (``legacy_architecture``).
A model's forward takes [B, T, F] float32 and returns ``(score [B], attention [B, T] or None)``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from torch import nn

ENTRY_POINT_GROUP = "tickscope.models"
OWN_PREFIX = "tickscope.models."
MODULES_ENV = "TICKSCOPE_MODEL_MODULES"
LSTM = "tickscope.models.lstm:AttentionLSTM"
TCN = "tickscope.models.tcn:TCN"
BUILTIN = {"lstm": LSTM, "tcn": TCN}  # short names of tickscope's own architectures (tickscope train --arch)


class ArchitectureError(Exception):
    """An architecture that cannot or may not be built; the message says which and why."""


def legacy_architecture(meta: dict) -> dict:
    """The architecture of an artifact written before ``architecture`` was recorded: the AttentionLSTM."""
    return {"class": LSTM, "kwargs": {"n_features": int(meta["n_features"]), "hidden": int(meta["hidden"])}}


def architecture_of(meta: dict) -> dict:
    return meta.get("architecture") or legacy_architecture(meta)


def allowed_modules() -> tuple[str, ...]:
    """Top-level packages an artifact may name besides tickscope's own (``TICKSCOPE_MODEL_MODULES``)."""
    from tickscope.settings import get_settings

    return tuple(m.strip() for m in get_settings().model_modules.split(",") if m.strip())


def _entry_point_target(name: str) -> str:
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        raise ArchitectureError(f"no installed package declares the entry point {name!r} "
                                f"in the group {ENTRY_POINT_GROUP!r}")
    return found[0].value


def class_path(arch: dict) -> str:
    """``module:Class`` of an architecture, checked against what an artifact may name (module doc)."""
    if "entry_point" in arch:
        return _entry_point_target(str(arch["entry_point"]))
    path = str(arch.get("class", ""))
    module, _, name = path.partition(":")
    if not module or not name:
        raise ArchitectureError(f"architecture class {path!r} is not 'package.module:ClassName'")
    if not (module + ".").startswith(OWN_PREFIX) and module.split(".")[0] not in allowed_modules():
        raise ArchitectureError(
            f"architecture module {module!r} is neither tickscope's own nor an entry point of "
            f"{ENTRY_POINT_GROUP!r}; list its package in {MODULES_ENV} to allow it")
    return path


def resolve(arch: dict) -> type[nn.Module]:
    """The torch module class an architecture names (imported, never called here)."""
    module, _, name = class_path(arch).partition(":")
    try:
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ArchitectureError(f"architecture {module}:{name} cannot be imported: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        raise ArchitectureError(f"architecture {module}:{name} is not a torch.nn.Module subclass")
    return obj


def build(arch: dict) -> nn.Module:
    """A fresh module of the architecture, with its recorded constructor arguments (JSON values only)."""
    kwargs = arch.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ArchitectureError("architecture kwargs must be a JSON object")
    cls = resolve(arch)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ArchitectureError(f"architecture {class_path(arch)} cannot be built with {kwargs}: {exc}") from exc


def named(short_or_path: str, **kwargs) -> dict:
    """An architecture dict from a short name (``lstm``, ``tcn``) or a ``module:Class`` path."""
    return {"class": BUILTIN.get(short_or_path, short_or_path), "kwargs": kwargs}
