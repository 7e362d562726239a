"""Real market data shipped in PyPI packages (``backtesting``, ``arch``), and the publisher that replays it as ticks."""
