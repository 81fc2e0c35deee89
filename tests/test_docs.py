"""The docs match the code: every setting is documented, every test the docs name exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def settings_read_by_the_code() -> set[str]:
    """What config.py reads: `env.get("X")` (also `os.environ`'s) and `_int("X", …)`; no other
    module reads the environment (test_config.py checks it)."""
    source = (ROOT / "src/proofdesk/config.py").read_text()
    names = set(re.findall(r'env\.get\("([A-Z][A-Z0-9_]+)"', source))
    names |= set(re.findall(r'_int\("([A-Z][A-Z0-9_]+)"', source))
    return names


def test_every_setting_is_in_env_example_and_the_readme_table():
    names = settings_read_by_the_code()
    assert {
        "DATABASE_URL",
        "SECRET_KEY",
        "BASE_URL",
        "LEGACY_PUBLIC_LINKS_ENABLED",
        "CUSTOMER_LOGIN_ENABLED",
        "CUSTOMER_NOTIFY_DEFAULT_SUBJECT",
        "LOG_LEVEL",
        "HOST",
        "PROOFDESK_HOME",
    } <= names
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    missing_example = sorted(n for n in names if not re.search(rf"^#?\s*{n}=", example, re.M))
    missing_readme = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing_example, f".env.example lacks {missing_example}"
    assert not missing_readme, f"the README's configuration table lacks {missing_readme}"


def test_tests_named_in_the_docs_exist():
    named = set()
    for doc in ("docs/security.md", "docs/deployment.md", "docs/architecture.md", "README.md"):
        path = ROOT / doc
        if path.exists():
            named |= set(re.findall(r"(tests/[\w/]+\.py)(?:::(\w+))?", path.read_text()))
    assert named
    for file, test in sorted(named):
        path = ROOT / file
        assert path.exists(), f"{file} is named in the docs but does not exist"
        if test:
            assert re.search(rf"def {test}\(", path.read_text()), f"{file}::{test} is missing"


def test_readme_opens_with_the_two_commands():
    opening = "\n".join((ROOT / "README.md").read_text().splitlines()[:15])
    assert "make run" in opening and "make test" in opening


def test_screenshots_in_the_readme_exist():
    readme = (ROOT / "README.md").read_text()
    for image in re.findall(r"\((docs/screenshots/[\w-]+\.png)\)", readme):
        assert (ROOT / image).exists(), image
