"""Fixtures of the hostile suite, and the tally of what it tried printed after the run."""

import pytest

# What the suite tried and how it ended, printed after the run: each test is one hostile input
# (or one scenario), each fuzz test adds its mutants.
TALLY = {"tests": 0, "tests_clean": 0, "mutants": 0}


@pytest.fixture(scope="session")
def model():
    from digitnet.modelfile import load_model

    return load_model()


@pytest.fixture
def count_mutants():
    """Call with the number of mutants a fuzz test tried (all of them ended cleanly if it passes)."""
    return lambda n: TALLY.__setitem__("mutants", TALLY["mutants"] + n)


def pytest_runtest_logreport(report):
    if report.when == "call":
        TALLY["tests"] += 1
        TALLY["tests_clean"] += report.passed


def pytest_terminal_summary(terminalreporter):
    if TALLY["tests"]:
        terminalreporter.write_line(
            f"hostile suite: {TALLY['tests']} inputs and scenarios tried, {TALLY['tests_clean']} ended cleanly, "
            f"plus {TALLY['mutants']:,} byte-flip mutants, every one ended cleanly unless a fuzz test failed above")
