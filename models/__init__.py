"""Signal models: architecture (lstm), artifacts (registry), training (train).

``models.load(version=None)`` returns the model for notebooks and the worker.
"""

from tickscope.models.registry import LoadedModel, ModelError, load

__all__ = ["LoadedModel", "ModelError", "load"]
