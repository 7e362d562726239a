"""tickscope: a streaming explanation pipeline for market time series."""

__version__ = "0.1.0"
