"""Prometheus metrics of the worker, named by Prometheus conventions
(base units: seconds; counters end in ``_total``). Labels carry stage ids."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

TICKS_IN = Counter("tickscope_ticks_in_total", "Messages read from the ticks topic")
TICKS_ACCEPTED = Counter("tickscope_ticks_accepted_total", "Valid ticks appended to a symbol window")
TICKS_DROPPED = Counter("tickscope_ticks_dropped_total", "Valid ticks dropped by the ordering rule", ["reason"])
DLQ = Counter("tickscope_dlq_total", "Messages sent to the dead-letter topic", ["stage", "reason"])
WINDOWS_SCORED = Counter("tickscope_windows_scored_total", "Feature windows scored by the model")
SIGNALS = Counter("tickscope_signals_total", "Significant signals", ["direction"])
EXPLANATIONS = Counter("tickscope_explanations_total", "Explained signals published to the archive topic")
STAGE_ERRORS = Counter("tickscope_stage_errors_total", "Records a stage failed on (sent to the DLQ)", ["stage"])
EXPLAIN_SECONDS = Histogram("tickscope_explain_seconds", "Explanation time per signal", buckets=LATENCY_BUCKETS)
SCORE_BATCH_SECONDS = Histogram("tickscope_score_batch_seconds", "Model time per scoring micro-batch",
                                buckets=LATENCY_BUCKETS)
CHECKPOINT_SECONDS = Histogram("tickscope_checkpoint_seconds",
                               "detect: time to write the window state and commit offsets; no batch is read meanwhile",
                               buckets=LATENCY_BUCKETS)
END_TO_END_SECONDS = Histogram(
    "tickscope_end_to_end_seconds",
    "Wall time from a tick's arrival at the worker to its explanation's publish",
    buckets=LATENCY_BUCKETS,
)
ADDITIVITY_ERROR = Gauge("tickscope_additivity_error", "Additivity error of the last explanation")
CONSUMER_LAG = Gauge("tickscope_consumer_lag", "Messages behind the end of a partition", ["topic", "partition"])
SYMBOL_EVICTIONS = Counter("tickscope_symbol_evictions_total",
                           "Per-symbol state evicted (least recently seen) to keep memory bounded", ["stage"])
INPUT_GAP = Counter("tickscope_input_gap_messages_total",
                    "Messages a consumer could not read because retention deleted them before it got there",
                    ["stage", "topic"])
LIVENESS = Gauge("tickscope_worker_last_progress_timestamp_seconds", "Unix time the worker last processed a batch")
UP = Gauge("tickscope_worker_up", "1 while the worker runs")

# Explanation-drift and stability alerts (tickscope.detectors, docs/alerts.md).
ALERTS = Counter("tickscope_alerts_total", "Alerts published to the alerts topic", ["kind", "severity"])
ALERT_DUPLICATES = Counter("tickscope_alert_duplicate_explanations_total",
                           "Re-delivered explanations skipped by signal_id")
ALERT_SKIPPED = Counter("tickscope_alert_skipped_explanations_total",
                        "Valid explanations the alert stage did not observe (model_version: another model version; "
                        "legacy_key: keyed by signal_id; replayed: already in the saved state; out_of_order: older "
                        "than the symbol's last)", ["reason"])
DRIFT_JS = Gauge("tickscope_drift_jensen_shannon",
                 "Jensen-Shannon divergence (bits) of recent attribution shares vs reference", ["symbol", "level"])
FAITHFULNESS_CUSUM = Gauge("tickscope_faithfulness_cusum", "Lower CUSUM statistic (sigmas) of a faithfulness sequence",
                           ["symbol", "metric"])
EXPLANATION_LIPSCHITZ = Gauge("tickscope_explanation_lipschitz_ratio",
                              "Largest neighbour Lipschitz ratio of the last explanation (score per feature unit)",
                              ["symbol"])

# The dashboard (tickscope.dashboard): its topic reader and the pages it pushes to. No per-symbol labels.
DASHBOARD_REJECTED = Counter("tickscope_dashboard_rejected_total",
                             "Messages the dashboard's topic reader refused and moved past", ["kind", "reason"])
DASHBOARD_SYMBOLS_EVICTED = Counter("tickscope_dashboard_symbols_evicted_total",
                                    "Symbols whose price points were dropped, least recently seen first, at the cap")
DASHBOARD_PAGES = Gauge("tickscope_dashboard_pages", "Browser pages receiving pushed updates now")
DASHBOARD_PUSHES = Counter("tickscope_dashboard_pushes_total", "Deltas pushed to browser pages", ["frame"])

# The archiver (``tickscope archiver``, audit/archiver.py), served on TICKSCOPE_ARCHIVER_METRICS_PORT.
ARCHIVER_RECORDS = Counter("tickscope_archiver_records_archived_total", "Records appended to the archive's log")
ARCHIVER_DUPLICATES = Counter("tickscope_archiver_duplicates_total", "Re-delivered records identical to archived ones")
ARCHIVER_CONFLICTS = Counter("tickscope_archiver_conflicts_total",
                             "Re-delivered records that differ from the archived one (kept in conflicts)")
ARCHIVER_REJECTED = Counter("tickscope_archiver_rejected_total",
                            "Messages the archiver refused (kept in the rejected table)", ["reason"])
ARCHIVER_HEADS_PUBLISHED = Counter("tickscope_archiver_heads_published_total",
                                   "Signed heads acknowledged by the witness topic")
ARCHIVER_WITNESS_BACKLOG = Gauge("tickscope_archiver_witness_backlog",
                                 "Signed heads not yet acknowledged by the witness topic")
ARCHIVER_GAP_RECORDS = Counter("tickscope_archiver_gap_records_total",
                               "Offsets deleted by retention before the archiver read them (recorded in gaps)")
ARCHIVER_LAG = Gauge("tickscope_archiver_lag", "Messages on the explanations topic not yet archived")
ARCHIVER_LAST_PROGRESS = Gauge("tickscope_archiver_last_progress_timestamp_seconds",
                               "Unix time the archiver last committed a batch or found nothing to read")
ARCHIVER_UP = Gauge("tickscope_archiver_up", "1 while the archiver runs")
