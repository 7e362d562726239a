"""Live desk dashboard: a Dash app fed by a Kafka-reading background thread.

- ``store``: thread-safe in-memory store (price points per symbol, archive
  records de-duplicated by signal id) and the Kafka consumer thread filling it.
- ``figures``: pure figure builders (record dict in, plotly Figure out).
- ``app``: layout, callbacks and the optional token gate.
"""
