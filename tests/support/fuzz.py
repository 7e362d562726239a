"""Fuzzing at the consumers' boundaries: hostile messages, the property every consumer keeps, regression cases.

- Strategies: ``hostile_bytes`` (not JSON, invalid UTF-8, deep nesting up to
  the size limit), ``hostile_json`` (valid JSON that is hostile: huge and
  non-finite numbers, lone surrogates, wrong types, duplicate keys, deep
  nesting) and ``mutated`` (a valid message of the consumer's input with one
  field replaced, removed or duplicated: wrong shapes and types, unknown
  schema versions, enormous arrays within the size limit); ``messages``
  combines them with hostile keys.
- ``HARNESSES``: consumer name -> factory of a fresh ``Harness``
  (``tests.support.fuzz_harnesses``). Adding a consumer is one entry here.
- ``verdict``: the property. One message through a harness never raises and
  gives a result or dead letters; every dead letter names its stage and
  reason, carries the original bytes and serialises; every output record
  serialises and reads back; a message not applied leaves the state exactly
  as it was; a dead letter with one of the harness's ``bug_reasons`` means
  the consumer's own checks missed something.
- Regression cases: ``tests/fuzz_cases/<stage>/<sha256>.bin`` (+ ``.key``);
  ``save_case``, ``saved_cases``; ``campaign`` is ``tickscope fuzz``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.support import fuzz_harnesses
from tests.support.fuzz_harnesses import Harness, Ran

HARNESSES: dict[str, Callable[[], Harness]] = {
    "detect": fuzz_harnesses.detect,
    "explain": fuzz_harnesses.explain,
    "alert": fuzz_harnesses.alert,
    "archiver": fuzz_harnesses.archiver,
    "dashboard-ticks": fuzz_harnesses.dashboard_ticks,
    "dashboard-explanations": fuzz_harnesses.dashboard_explanations,
    "dashboard-alerts": fuzz_harnesses.dashboard_alerts,
}
CASES_DIR = Path(__file__).resolve().parents[1] / "fuzz_cases"
REASON_RE = re.compile(r"[a-z][a-z0-9_]*")

# ---- strategies -------------------------------------------------------------------------------------------------
HOSTILE_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", str(2**63), str(2**64), str(2**70),
                   "1" + "0" * 400, "-0", "5e-324", "1.7976931348623157e308", "-1", "0", "1e-320"]
HOSTILE_STRINGS = ['"\\ud800"', '"x\\udfff"', '"\\udc00\\ud800"', '"\\u0000"', '"EURUSD\\n"', '""', '"*"', '"*#0"',
                   '"EUR USD"', json.dumps("A" * 300), json.dumps("\u202e\u00e9\u6f22")]
def _number_text(x: float) -> str:
    return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(repr(x), repr(x))


NUMBERS = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.floats().map(_number_text), st.integers().map(str))
SCALARS = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.sampled_from(HOSTILE_STRINGS),
                    st.sampled_from(["true", "false", "null"]), st.integers().map(str),
                    st.floats(allow_nan=False, allow_infinity=False).map(repr), st.text(max_size=20).map(json.dumps))
FIELD_NAMES = ["symbol", "ts", "price", "size", "signal_id", "schema_version", "window", "model_version",
               "feature_attributions", "event_attributions", "quality", "a", ""]


def _array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    """A JSON object as text: repeated names (duplicate keys) are kept, as a hostile producer would send them."""
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=6).map(_array),
    st.lists(st.tuples(st.sampled_from(FIELD_NAMES), inner), max_size=6).map(_object)), max_leaves=24)


def nested(max_bytes: int) -> st.SearchStrategy[str]:
    """Arrays or objects nested up to as deep as the size limit allows."""
    depth = st.integers(1, max(1, min(max_bytes // 6, 200_000)))
    return st.one_of(depth.map(lambda d: "[" * d + "]" * d), depth.map(lambda d: '{"a":' * d + "1" + "}" * d),
                     depth.map(lambda d: "[" * d))


def enormous_array(max_bytes: int) -> st.SearchStrategy[str]:
    """One flat array of numbers (or of rows) as large as fits in the size limit."""
    n = st.integers(0, max(0, max_bytes // 4 - 2))
    return st.one_of(n.map(lambda k: _array(["1.5"] * (k // 2))), n.map(lambda k: _array(["[0.1,0.2]"] * (k // 10))))


def hostile_bytes(max_bytes: int) -> st.SearchStrategy[bytes]:
    """Not a JSON object at all, or not UTF-8, or nested as deep as the size limit allows."""
    return st.one_of(st.binary(max_size=512), st.sampled_from([b"", b"\xed\xa0\x80", b"\xff\xfe{}", b"{", b"\x00"]),
                     nested(max_bytes).map(str.encode), st.text(max_size=200).map(lambda t: t.encode("utf-8")))


def hostile_json(max_bytes: int) -> st.SearchStrategy[bytes]:
    return st.one_of(JSON_VALUES, nested(max_bytes)).map(lambda t: t.encode("utf-8"))


MARKER = "\u0001FUZZ\u0001"


def _dumps_with(obj, text: str) -> bytes:
    """``obj`` as JSON with the one string MARKER in it replaced by the JSON text ``text``."""
    return json.dumps(obj).replace(json.dumps(MARKER), text).encode("utf-8")


def _inside(draw, container) -> str | None:
    """Change ``container`` (a list or dict somewhere in a message) in place: drop or add an element (a wrong
    shape), or set one to MARKER; returns the JSON text to put where MARKER is (None: no marker placed)."""
    while isinstance(container, list) and container and isinstance(container[0], (list, dict)) \
            and draw(st.booleans()):
        container = container[draw(st.integers(0, len(container) - 1))]
    if isinstance(container, dict):
        if not container:
            return None
        container[draw(st.sampled_from(sorted(container)))] = MARKER
        return draw(SCALARS)
    how = draw(st.sampled_from(["drop", "add", "set"])) if container else "add"
    if how == "drop":
        container.pop(draw(st.integers(0, len(container) - 1)))
        return None
    if how == "add":
        container.append(container[-1] if container else 0.5)
        return None
    container[draw(st.integers(0, len(container) - 1))] = MARKER
    return draw(st.one_of(NUMBERS, NUMBERS, SCALARS))


def mutated(seeds: list[tuple[bytes, bytes | None]], max_bytes: int) -> st.SearchStrategy[tuple[bytes, bytes | None]]:
    """A valid message with one field replaced by hostile JSON, removed, duplicated (the hostile value first),
    or changed inside (an element dropped, added or made hostile: wrong shapes); with its own key."""
    names = sorted({name for value, _ in seeds for name in json.loads(value)}) + ["schema_version", "unknown"]
    containers = sorted({name for value, _ in seeds for name, v in json.loads(value).items()
                         if isinstance(v, (list, dict))}) or names
    versions = st.sampled_from(["2", "0", "-1", str(2**64), "1.5", '"1"'])
    replacement = st.one_of(JSON_VALUES, nested(max_bytes), enormous_array(max_bytes), versions)

    @st.composite
    def one(draw):
        value, key = draw(st.sampled_from(seeds))
        how = draw(st.sampled_from(["replace", "remove", "duplicate", "inside", "inside", "inside"]))
        obj, name = json.loads(value), draw(st.sampled_from(containers if how == "inside" else names))
        if how == "inside" and isinstance(obj.get(name), (list, dict)):
            text = _inside(draw, obj[name])
            return (_dumps_with(obj, text) if text is not None else json.dumps(obj).encode("utf-8")), key
        if how == "remove":
            obj.pop(name, None)
            return json.dumps(obj).encode("utf-8"), key
        if how == "duplicate":
            return ("{" + json.dumps(name) + ":" + draw(replacement) + ",").encode("utf-8") + value.lstrip()[1:], key
        obj[name] = MARKER
        return _dumps_with(obj, draw(replacement)), key

    return one()


def keys(seeds: list[tuple[bytes, bytes | None]]) -> st.SearchStrategy[bytes | None]:
    own = [k for _, k in seeds]
    return st.one_of(st.sampled_from(own), st.none(), st.binary(max_size=40),
                     st.sampled_from([b"\xed\xa0\x80", b"*", b"*#0", b"EURUSD\n", b"GBPUSD"]))


def messages(harness: Harness) -> st.SearchStrategy[tuple[bytes, bytes | None]]:
    """(value, key) pairs: mostly mutated valid messages with their own key, the rest hostile bytes or JSON."""
    free = st.tuples(st.one_of(hostile_bytes(harness.max_bytes), hostile_json(harness.max_bytes)), keys(harness.seeds))
    own = mutated(harness.seeds, harness.max_bytes)
    rekeyed = st.tuples(own.map(lambda m: m[0]), keys(harness.seeds))
    return st.one_of(own, own, own, free, rekeyed)


# ---- the property -------------------------------------------------------------------------------------------------
def verdict(harness: Harness, value: bytes | None, key: bytes | None) -> str | None:
    """None if the consumer kept the rule on this message, else what went wrong."""
    before = harness.snapshot()
    try:
        ran = harness.run(value, key)
    except Exception as exc:  # noqa: BLE001 - this is what we are looking for
        return f"raised {type(exc).__name__}: {str(exc)[:300]}"
    if not isinstance(ran, Ran):
        return f"returned {type(ran).__name__}, not a result"
    for letter in ran.dead_letters:
        problem = _bad_letter(harness, letter, value)
        if problem:
            return problem
    for record in ran.outputs:
        try:
            type(record).from_json(record.to_json())
        except Exception as exc:  # noqa: BLE001
            return f"output {type(record).__name__} does not read back: {type(exc).__name__}: {str(exc)[:200]}"
    if not ran.applied and harness.snapshot() != before:
        return "a message that was not applied changed the state"
    return None


def _bad_letter(harness: Harness, letter, value: bytes | None) -> str | None:
    if not (letter.stage and REASON_RE.fullmatch(letter.reason)):
        return f"dead letter without a stage or a stable reason: {letter.stage!r} {letter.reason!r}"
    if letter.reason in harness.bug_reasons:
        return f"the stage's checks missed: {letter.reason}: {letter.detail}"
    if base64.b64decode(letter.original_b64) != (value or b""):
        return "dead letter does not carry the original bytes"
    try:
        type(letter).from_json(letter.to_json())
    except Exception as exc:  # noqa: BLE001
        return f"dead letter does not serialise: {type(exc).__name__}: {str(exc)[:200]}"
    return None


# ---- regression cases ---------------------------------------------------------------------------------------------
def case_name(value: bytes, key: bytes | None) -> str:
    """sha256 of the value, then of the key when there is one: the same input always has the same name."""
    digest = hashlib.sha256(value)
    if key is not None:
        digest.update(b"\x00key\x00" + key)
    return digest.hexdigest()


def save_case(stage: str, value: bytes | None, key: bytes | None, cases_dir: Path = CASES_DIR) -> Path:
    """Write ``<cases_dir>/<stage>/<sha256>.bin`` (and ``.key`` when the message has a key)."""
    value = value or b""
    folder = cases_dir / stage
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case_name(value, key)}.bin"
    path.write_bytes(value)
    if key is not None:
        path.with_suffix(".key").write_bytes(key)
    return path


def saved_cases(cases_dir: Path = CASES_DIR) -> list[tuple[str, Path, bytes, bytes | None]]:
    """(stage, path, value, key) of every saved case, sorted."""
    out = []
    for path in sorted(cases_dir.glob("*/*.bin")):
        key_path = path.with_suffix(".key")
        out.append((path.parent.name, path, path.read_bytes(), key_path.read_bytes() if key_path.exists() else None))
    return out


# ---- a campaign (``tickscope fuzz``) ---------------------------------------------------------------------------------
def campaign(stage: str, minutes: float, cases_dir: Path = CASES_DIR, first_seed: int = 0,
             examples_per_round: int = 200, log=print) -> list[Path]:
    """Random rounds of ``examples_per_round`` examples (seeds first_seed, first_seed + 1, ...) until ``minutes``
    have passed; each failure is shrunk by Hypothesis and saved as a regression case. Returns the saved paths."""
    make = HARNESSES[stage]
    deadline = time.monotonic() + 60.0 * minutes
    saved: list[Path] = []
    round_seed, ran = first_seed, [0]
    while time.monotonic() < deadline:
        failing: list[tuple[bytes, bytes | None, str]] = []
        strategy = messages(make())

        @seed(round_seed)
        @settings(max_examples=examples_per_round, deadline=None, database=None, derandomize=False,
                  phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
        @given(message=strategy)
        def one(message):
            if time.monotonic() > deadline and not failing:
                return
            ran[0] += 1
            problem = verdict(make(), *message)
            if problem:
                failing.append((*message, problem))
                raise AssertionError(problem)

        try:
            one()
        except AssertionError:
            value, key, problem = failing[-1]  # the last failure Hypothesis ran is the shrunk one
            saved.append(save_case(stage, value, key, cases_dir))
            log(f"tickscope fuzz {stage}: seed {round_seed}: {problem}\n  saved {saved[-1]}")
        round_seed += 1
    log(f"tickscope fuzz {stage}: {ran[0]} messages in {round_seed - first_seed} rounds")
    return saved
