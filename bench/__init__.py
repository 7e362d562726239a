"""tickscope's benchmarks: not installed with the package; ``tickscope bench TARGET`` loads them from here.

One module per target, ``<target>_bench.py`` with ``run_cli(args) -> int``.
Every benchmark prints its method with its figures, and compares ratios
measured side by side in one run (docs/benchmarks.md). Benchmarks use only
tickscope's public names.
"""
