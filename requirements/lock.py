"""Write requirements/run.txt and requirements/test.txt: every package Proofdesk needs to run
(and to run its tests), pinned to one version each, as pip's resolver chooses them today.

`make lock` runs it; run it after changing the dependencies in pyproject.toml, then run the
tests and commit the two files. The Makefile installs these pins, so that every machine gets
the versions the tests passed with (pyproject.toml keeps the ranges, for people who install
the package). The pins are for this Python (3.11) on Linux; the test pins are resolved first,
and the run pins within them, so that a package both need has the same version in both. The
build backend (pyproject's build-system) is pinned too: the Makefile installs Proofdesk itself
with it, without pip's isolated build environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "requirements"
PROJECT = "proofdesk"


def resolve(requirement: str, constraints: Path | None = None) -> dict[str, str]:
    """The name and version of every package pip would install for `requirement` and the build
    backend on an empty environment (nothing is installed: --dry-run)."""
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run"]
        command += ["--ignore-installed", "--report", str(report), requirement, *build]
        if constraints is not None:
            command += ["--constraint", str(constraints)]
        subprocess.run(command, check=True, cwd=ROOT)
        chosen = json.loads(report.read_text())["install"]
    versions = {item["metadata"]["name"]: item["metadata"]["version"] for item in chosen}
    versions.pop(PROJECT, None)
    return versions


def write(path: Path, versions: dict[str, str], what: str) -> None:
    lines = [
        f"# {what}: exact versions, written by `make lock`",
        "# (requirements/lock.py) from pyproject.toml. Do not edit by hand.",
        *(f"{name}=={versions[name]}" for name in sorted(versions, key=str.lower)),
    ]
    path.write_text("\n".join(lines) + "\n")
    print(f"{path.relative_to(ROOT)}: {len(versions)} packages")


def main() -> None:
    test = resolve(".[test]")
    write(HERE / "test.txt", test, "Running Proofdesk and its tests (make test, make install)")
    with tempfile.TemporaryDirectory() as tmp:
        pins = Path(tmp) / "test-pins.txt"
        pins.write_text("".join(f"{name}=={version}\n" for name, version in test.items()))
        run = resolve(".", constraints=pins)
    write(HERE / "run.txt", run, "Running Proofdesk (make run)")


if __name__ == "__main__":
    main()
