"""Dependency audit: pip-audit over the installed environment, plus our own floor check.

Fails (exit 1) on any known vulnerability pip-audit reports, and on any installed package below
the floors in ADVISORIES (the CVEs this project's issues name). pip-audit needs PyPI's JSON API;
where that is unreachable, it audits nothing, and this script says so plainly rather than pass
silently, while the floor check still runs offline.
"""
import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

from packaging.version import Version

# package: (minimum safe version, why)
ADVISORIES = {
    "python-socketio": ("5.14.0", "CVE-2025-61765: unpickles message-queue data"),
    "eventlet": ("0.40.3", "HTTP request smuggling (CVE-2025-58068)"),
    "flask": ("3.1.1", "CVE-2025-47278: wrong key for signing when fallback keys are set"),
    "werkzeug": ("3.0.6", "CVE-2024-49766/49767: path traversal on Windows, multipart DoS"),
    "jinja2": ("3.1.6", "CVE-2025-27516: sandbox breakout through |attr"),
    "python-engineio": ("3.9.0", "CVE-2019-13611: no Origin check (cross-site WebSocket hijacking)"),
    "flask-socketio": ("4.2.0", "cross-origin WebSocket connections accepted"),
    "setuptools": ("78.1.1", "CVE-2024-6345 (code execution via package URLs), CVE-2025-47273 (path traversal)"),
}


def floor_failures() -> list[str]:
    bad = []
    for name, (floor, why) in ADVISORIES.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        if Version(installed) < Version(floor):
            bad.append(f"{name} {installed} < {floor}: {why}")
    return bad


def pip_audit() -> tuple[list[str], int, int]:
    """(vulnerabilities found, packages audited, packages pip-audit could not look up)."""
    out = subprocess.run([sys.executable, "-m", "pip_audit", "--skip-editable", "--format", "json",
                          "--progress-spinner", "off"], capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        print(out.stderr[-2000:], file=sys.stderr)
        return [f"pip-audit did not produce a report (exit {out.returncode})"], 0, 0
    vulns, audited, skipped = [], 0, 0
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            skipped += 1
            continue
        audited += 1
        for v in dep.get("vulns", []):
            vulns.append(f"{dep['name']} {dep['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions', [])) or '?'})")
    return vulns, audited, skipped


def main() -> int:
    floors = floor_failures()
    vulns, audited, skipped = pip_audit()
    for line in floors + vulns:
        print("VULNERABLE:", line)
    print(f"audit: {audited} packages checked by pip-audit, {skipped} could not be looked up, "
          f"{len(ADVISORIES)} advisory floors checked, {len(floors) + len(vulns)} problems")
    if audited == 0 and skipped:
        print("audit: WARNING pip-audit could not reach its vulnerability service from this machine; "
              "only the advisory floors were enforced")
    return 1 if floors or vulns else 0


if __name__ == "__main__":
    sys.exit(main())
