"""``tickscope fuzz STAGE --minutes N``: a long random campaign of hostile messages against one consumer.

The harnesses and strategies are test support, not part of the installed
package: they live in the checkout's ``tests/support/fuzz.py`` (registry
``HARNESSES``), and this command loads them when that folder is present:
``$TICKSCOPE_TESTS_DIR``, else ``./tests``, else the ``tests/`` of the
checkout tickscope is installed from (an editable install). Each failing
input, shrunk by Hypothesis, is saved as a regression case
``tests/fuzz_cases/<stage>/<sha256>.bin`` (+ ``.key``), which the unit tier
replays from then on. Exit status 1 when a case was saved, 0 when none.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tickscope.cli.checkout import find_folder, import_from


def add_parser(sub):
    p = sub.add_parser("fuzz", help="fuzz one consumer with hostile messages; failing inputs become regression "
                                    "cases (harnesses: tests/support/fuzz.py)")
    p.add_argument("stage", help="harness name: detect, explain, alert, ... (tests.support.fuzz.HARNESSES)")
    p.add_argument("--minutes", type=float, default=5.0, help="how long to run (default 5)")
    p.add_argument("--seed", type=int, default=None, help="first round's seed (default: from the clock)")
    p.add_argument("--cases", type=Path, default=None,
                   help="where to save failing inputs (default: the checkout's tests/fuzz_cases)")
    return p


def tests_dir() -> Path | None:
    """The ``tests/`` folder holding ``support/fuzz.py``, or None (an installed wheel has none)."""
    return find_folder("tests", "TICKSCOPE_TESTS_DIR", marker="support/fuzz.py")


def run(args) -> int:
    try:
        fuzz = import_from(tests_dir(), "tests.support.fuzz",
                           "no tests/support/fuzz.py: the fuzz harnesses ship with the source repository, not "
                           "the package (set TICKSCOPE_TESTS_DIR or run from a checkout)")
    except (FileNotFoundError, ImportError) as exc:
        print(f"tickscope fuzz: {exc}", file=sys.stderr)
        return 2
    if args.stage not in fuzz.HARNESSES:
        print(f"tickscope fuzz: no harness {args.stage!r}; known: {', '.join(sorted(fuzz.HARNESSES))}",
              file=sys.stderr)
        return 2
    first_seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    cases = args.cases or fuzz.CASES_DIR
    print(f"tickscope fuzz {args.stage}: {args.minutes:g} min, rounds of random examples from seed {first_seed}; "
          f"failing inputs -> {cases}/{args.stage}/", flush=True)
    saved = fuzz.campaign(args.stage, args.minutes, cases, first_seed, log=lambda line: print(line, flush=True))
    print(f"tickscope fuzz {args.stage}: {len(saved)} failing input(s) saved", flush=True)
    return 1 if saved else 0
