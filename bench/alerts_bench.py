"""``tickscope bench alerts``: false alarms on real series and detection delays after injected regime changes.

Method (printed with the figures): the real packaged series go through the
worker's own stages offline (``tickscope.streams.offline``: detect, explain),
then through a fresh ``AlertEngine`` with the default thresholds. False alarms:
alerts on the real series, and per 10,000 signals of a stationary block
bootstrap (Politis & Romano 1994, mean block 8) of each series' records.
Delays: ``tickscope.marketdata.regimes.inject`` splices a regime change into
EURUSD at tick 2,500; the delay is counted in signals after the change.
"""

from __future__ import annotations

import json

import numpy as np

from tickscope.detectors.reference import reference_for
from tickscope.marketdata.regimes import INJECTIONS, inject
from tickscope.marketdata.sources import load_source
from tickscope.models.registry import load
from tickscope.streams.alert import alerts_over
from tickscope.streams.offline import explain_series

REAL_SOURCES = ("eurusd", "sp500", "nasdaq", "goog")
CUT = 2500  # the regime change starts at this tick of the real EURUSD series
BOOTSTRAP_SIGNALS = 10_000


def stationary_bootstrap(records, n: int, mean_block: float, seed: int) -> list:
    """n records resampled in blocks of geometric length (Politis & Romano 1994), with fresh signal ids."""
    rng, out = np.random.default_rng(seed), []
    while len(out) < n:
        start = int(rng.integers(len(records)))
        for j in range(int(rng.geometric(1.0 / mean_block))):
            rec = records[(start + j) % len(records)]
            out.append(rec.model_copy(update={"signal_id": f"boot{seed}-{len(out)}", "ts": len(out)}))
    return out[:n]


def measure(model, reference, params=None, cut: int = CUT) -> dict:
    """False alarms on real series and their bootstrap, and detection delays (signals) after injections."""
    real = {s: explain_series(model, load_source(s), s.upper()) for s in REAL_SOURCES}
    stationary = {s: len(alerts_over(recs, reference, params)) for s, recs in real.items()}
    boot = {}
    for s, recs in real.items():
        alerts = alerts_over(stationary_bootstrap(recs, BOOTSTRAP_SIGNALS, 8.0, seed=0), reference, params)
        boot[s] = {"alerts": len(alerts), "kinds": sorted({a.kind for _, a in alerts})}
    rows = load_source("eurusd")
    delays = {}
    for kind in INJECTIONS:
        recs = explain_series(model, inject(rows, cut, kind), "EURUSD")
        first = next((i for i, r in enumerate(recs) if r.ts >= rows[cut].ts), len(recs))
        alerts = alerts_over(recs, reference, params)
        before = [a.kind for i, a in alerts if i < first]
        after = [(i - first + 1, a.kind, a.symbol) for i, a in alerts if i >= first]
        delays[kind] = {"signals_before": first, "signals_after": len(recs) - first, "alerts_before": before,
                        "first_alerts_after": after[:4]}
    return {"real_signals": {s: len(r) for s, r in real.items()}, "real_alerts": stationary,
            "bootstrap_signals_per_source": BOOTSTRAP_SIGNALS, "bootstrap_alerts": boot, "injections": delays}


def run_cli(args) -> int:
    model = load(args.version)
    figures = measure(model, reference_for(model))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print("method: " + " ".join(__doc__.split("Method (printed with the figures):")[1].split()))
    for s, n in figures["real_signals"].items():
        b = figures["bootstrap_alerts"][s]
        print(f"{s:7s} real signals {n:4d} alerts {figures['real_alerts'][s]}  |  "
              f"bootstrap alerts per {BOOTSTRAP_SIGNALS:,}: {b['alerts']} {b['kinds']}")
    for kind, d in figures["injections"].items():
        print(f"inject {kind:7s} at tick {CUT}: {d['signals_before']} signals before (alerts {d['alerts_before']}), "
              f"{d['signals_after']} after; first alerts (delay in signals, kind, symbol): {d['first_alerts_after']}")
    return 0
