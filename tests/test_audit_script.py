"""``make audit`` (.ci/audit.py): a vulnerable dependency fails (1), and an audit that could not
look at every dependency fails differently (2; pip-audit itself says "No known vulnerabilities
found" then), so that CI can fail on the first and warn on the second."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).parent.parent / ".ci" / "audit.py"


def _audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OURS = {"name": "shipment-notifier", "skip_reason": "distribution marked as editable"}
CLEAN = {"name": "jinja2", "version": "3.1.6", "vulns": []}


def test_all_audited_and_clean_passes(capsys) -> None:
    assert _audit().judge([CLEAN, OURS]) == 0
    assert "1 dependencies audited, no known vulnerabilities" in capsys.readouterr().out


def test_a_vulnerable_dependency_fails_with_its_fix(capsys) -> None:
    bad = {
        "name": "jinja2",
        "version": "3.1.4",
        "vulns": [{"id": "GHSA-q2x7-8rv6-6q7h", "fix_versions": ["3.1.5"]}],
    }
    assert _audit().judge([bad, OURS]) == 1
    out = capsys.readouterr()
    assert "VULNERABLE jinja2 3.1.4: GHSA-q2x7-8rv6-6q7h (fixed in 3.1.5)" in out.out
    assert "FAILED: 1 vulnerable" in out.err


def test_dependencies_not_audited_are_reported_never_passed_silently(capsys) -> None:
    skipped = {
        "name": "aiohttp",
        "skip_reason": "Dependency not found on PyPI and could not be audited: aiohttp (3.14.5)",
    }
    assert _audit().judge([CLEAN, skipped, OURS]) == 2
    err = capsys.readouterr().err
    assert "could not audit 1 of 2 dependencies" in err and "FAILED" in err
