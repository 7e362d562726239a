"""Live desk dashboard: a Dash app fed by one Kafka-reading background thread.

- ``live_store``: thread-safe in-memory store (price points per symbol, archive
  records de-duplicated by signal id, alerts); ``topic_reader``: the Kafka thread filling it.
- ``figures``, ``explain_figures``: pure figure builders (record dict in, plotly Figure out).
- ``views``: one module per view (desk, signal, alerts, drift, archive) and the signal ``selection``.
- ``archive_reader``: the archive browser's and report route's read-only access to the archive.
- ``app``: layout, the poll gate, the token gate and the status route.
"""
