"""Audit the installed environment's dependencies for known vulnerabilities (``make audit``).

Runs ``pip-audit`` against PyPI's vulnerability service (the default; osv.dev is not reachable
from our machines) and judges its JSON report, because pip-audit itself reports "No known
vulnerabilities found" and exits 0 when it could audit nothing at all (every dependency skipped
as "not found on PyPI" when the per-release JSON API does not answer). Exit status:

* 0: every installed dependency was audited and none has a known vulnerability;
* 1: a vulnerable dependency (each listed with the versions that fix it: raise its lower bound
  in pyproject.toml);
* 2: the audit could not be done or was incomplete (the reason printed, never a silent pass).
  ``.ci/run`` fails on 1 and prints a warning on 2: where the vulnerability service cannot be
  reached the build cannot be judged either way, and a CI that always failed would be ignored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
EDITABLE = "distribution marked as editable"  # our own package (--skip-editable)
TIMEOUT = 600  # s for the whole audit; pip-audit's own socket timeout is 15 s
VULNERABLE, NOT_AUDITED = 1, 2  # exit statuses


def main() -> int:
    try:
        run = subprocess.run(
            [str(PIP_AUDIT), "--skip-editable", "--format", "json", "--progress-spinner", "off"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return fail(f"pip-audit did not run: {err}", NOT_AUDITED)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        why = (run.stderr.strip().splitlines() or ["no output"])[-1]
        why = f"pip-audit could not audit (PyPI's vulnerability service unreachable?): {why}"
        return fail(why, NOT_AUDITED)
    return judge(report["dependencies"])


def judge(deps: list[dict[str, Any]]) -> int:
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason") and d["skip_reason"] != EDITABLE]
    audited = [d for d in deps if "version" in d]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    if skipped:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        print(
            f"pip-audit could not audit {len(skipped)} of {len(skipped) + len(audited)} "
            f"dependencies ({'; '.join(reasons)}), e.g. {skipped[0]['skip_reason']}. PyPI's "
            "per-release JSON API (https://pypi.org/pypi/NAME/VERSION/json) must answer for "
            "the audit to mean anything; not passing it.",
            file=sys.stderr,
        )
    if vulnerable or skipped:
        code = VULNERABLE if vulnerable else NOT_AUDITED
        return fail(f"{len(vulnerable)} vulnerable, {len(skipped)} not audited", code)
    print(f"pip-audit: {len(audited)} dependencies audited, no known vulnerabilities")
    return 0


def fail(message: str, code: int) -> int:
    print(f"dependency audit FAILED: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
