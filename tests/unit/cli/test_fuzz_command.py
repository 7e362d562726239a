"""``tickscope fuzz``: loads the harnesses from the checkout, runs a campaign, saves what fails as a case."""

from __future__ import annotations

from tests.support import fuzz
from tests.support.fuzz_harnesses import Harness, Ran
from tickscope import cli
from tickscope.cli import fuzz_command


def test_without_the_checkout_tests_folder_it_says_where_harnesses_live(monkeypatch, capsys):
    monkeypatch.setattr(fuzz_command, "tests_dir", lambda: None)
    assert cli.main(["fuzz", "alert", "--minutes", "0.01"]) == 2
    assert "tests/support/fuzz.py" in capsys.readouterr().err


def test_an_unknown_stage_is_an_error_naming_the_known_ones(capsys):
    assert cli.main(["fuzz", "nothing", "--minutes", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "no harness 'nothing'" in err and "alert" in err and "detect" in err


def test_a_campaign_saves_the_shrunk_failing_input_as_a_case(monkeypatch, tmp_path, capsys):
    def make() -> Harness:
        def run(value, key):
            if value and b"7" in value:
                raise OverflowError("a seven")
            return Ran()

        return Harness("sevens", run, lambda: None, [(b'{"a": 1}', b"k")], max_bytes=256)

    monkeypatch.setitem(fuzz.HARNESSES, "sevens", make)
    code = cli.main(["fuzz", "sevens", "--minutes", "0.02", "--seed", "3", "--cases", str(tmp_path)])
    assert code == 1
    cases = fuzz.saved_cases(tmp_path)
    assert cases and {stage for stage, *_ in cases} == {"sevens"}
    for _, path, value, key in cases:
        assert b"7" in value and fuzz.verdict(make(), value, key).startswith("raised OverflowError")
        assert path.name == f"{fuzz.case_name(value, key)}.bin"
    assert "saved" in capsys.readouterr().out


def test_a_short_campaign_on_the_alert_stage_finds_nothing(tmp_path):
    assert cli.main(["fuzz", "alert", "--minutes", "0.03", "--seed", "1", "--cases", str(tmp_path)]) == 0
    assert fuzz.saved_cases(tmp_path) == []
