"""Signal models: architectures (lstm, tcn; which class an artifact may name: architecture), the spec a model
keeps (spec), artifacts by sha256 (registry), a desk's own models (register), training and its held-out
evaluation (dataset, train, skill, signal_stats, card). docs/models.md.

``models.load(version=None)`` returns the model for notebooks and the worker.
"""

from tickscope.models.registry import LoadedModel, ModelError, load

__all__ = ["LoadedModel", "ModelError", "load"]
