"""Every consumer keeps the rule on hostile input: never raises, a result or a dead letter, a rejection changes
no state. A fixed number of examples, derandomized (a fixed seed), per harness of ``tests.support.fuzz``; every
saved regression case (``tests/fuzz_cases``) is replayed; and the property is shown to catch what it should."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.support.fuzz import HARNESSES, messages, save_case, saved_cases, verdict
from tests.support.fuzz_harnesses import Harness, Ran
from tickscope.contracts.dead_letters import Rejected, Source, dead_letter

EXAMPLES = {"detect": 300, "explain": 120, "alert": 300, "archiver": 150, "dashboard-ticks": 150,
            "dashboard-explanations": 150, "dashboard-alerts": 150}  # explain runs the explainer on every valid signal
CI = settings(deadline=None, database=None, derandomize=True, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_a_consumer_never_raises_and_a_rejection_changes_no_state(name):
    make = HARNESSES[name]

    @settings(CI, max_examples=EXAMPLES.get(name, 200))
    @given(message=messages(make()))
    def keeps_the_rule(message):
        problem = verdict(make(), *message)
        assert problem is None, problem

    keeps_the_rule()


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_the_seeds_are_valid_messages_the_consumer_applies(name):
    """Mutations start from valid input: otherwise the fuzzing never gets past the first check."""
    harness = HARNESSES[name]()
    first = harness.snapshot()
    for value, key in harness.seeds:
        ran = harness.run(value, key)
        assert not ran.dead_letters and (ran.applied or ran.outputs), (name, ran)
    if name != "explain":  # a stateful consumer: its snapshot must see what the seeds changed, or the property's
        assert harness.snapshot() != first, name  # "a rejection changed nothing" would mean nothing


@pytest.mark.parametrize("stage,path,value,key", saved_cases(), ids=lambda x: getattr(x, "name", None))
def test_every_saved_case_is_kept(stage, path, value, key):
    assert stage in HARNESSES, f"{path}: no harness named {stage!r}"
    assert verdict(HARNESSES[stage](), value, key) is None


def test_there_are_saved_cases_for_the_bugs_this_suite_was_built_on():
    stages = {stage for stage, *_ in saved_cases()}
    assert {"detect", "alert"} <= stages


# ---- the property catches what it is meant to catch --------------------------------------------------------------
def _broken(harness: Harness, run) -> Harness:
    return Harness(harness.name, run, harness.snapshot, harness.seeds, harness.max_bytes, harness.bug_reasons)


def test_the_property_catches_a_raise_a_state_change_and_a_letter_without_its_bytes():
    alert = HARNESSES["alert"]()
    value, key = alert.seeds[0]

    def raises(v, k):
        raise RecursionError("deep")

    assert verdict(_broken(alert, raises), value, key).startswith("raised RecursionError")

    changing = HARNESSES["alert"]()

    def changes_state_then_rejects(v, k):
        changing.run(v, k)  # applied for real, yet reported as rejected
        return Ran([dead_letter("alert", v, k, Rejected("bad", "x"), Source("explanations", 0, 0))])

    assert verdict(_broken(changing, changes_state_then_rejects), value, key) == \
        "a message that was not applied changed the state"

    def loses_bytes(v, k):
        return Ran([dead_letter("alert", b"other", k, Rejected("bad", "x"), Source("explanations", 0, 0))])

    assert verdict(_broken(alert, loses_bytes), value, key) == "dead letter does not carry the original bytes"


def test_a_check_the_alert_stage_missed_is_a_finding(monkeypatch):
    alert = HARNESSES["alert"]()
    value, key = alert.seeds[0]

    def observe_fails(*args):
        raise FloatingPointError("a detector choked on a record that passed the checks")

    import tickscope.streams.alert as stage

    monkeypatch.setattr(stage.AlertEngine, "_observe", observe_fails)
    problem = verdict(alert, value, key)
    assert problem.startswith("the stage's checks missed: alert_error")


def test_a_case_is_saved_under_its_sha256_with_its_key(tmp_path):
    path = save_case("alert", b"{}", b"EURUSD", tmp_path)
    again = save_case("alert", b"{}", b"EURUSD", tmp_path)
    other = save_case("alert", b"{}", None, tmp_path)
    assert path == again != other and path.with_suffix(".key").read_bytes() == b"EURUSD"
    assert not other.with_suffix(".key").exists()
    assert {(s, v, k) for s, _, v, k in saved_cases(tmp_path)} == {("alert", b"{}", b"EURUSD"), ("alert", b"{}", None)}
