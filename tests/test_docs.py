"""Every Python example in README.md and docs/*.md runs as a test.

In each file, blocks fenced as ```python are collected into one test module and blocks fenced
as ```python conftest into its conftest; the module then runs in a pytester session with the
plugin loaded, exactly as a user's suite would run it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```python( conftest)?\n(.*?)^```", re.S | re.M)


def _blocks(path: Path) -> tuple[str, str]:
    tests: list[str] = []
    conftest: list[str] = []
    for match in _BLOCK.finditer(path.read_text(encoding="utf-8")):
        (conftest if match.group(1) else tests).append(match.group(2))
    return "\n\n".join(tests), "\n\n".join(conftest)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_examples_in_docs_run(pytester: pytest.Pytester, path: Path) -> None:
    tests, conftest = _blocks(path)
    count = len(re.findall(r"^def test_", tests, re.M))
    if not count:
        pytest.fail(f"{path.name} has no runnable example")
    pytester.makeconftest(
        "import pytest\n\n\n@pytest.fixture(autouse=True)\n"
        "def _clean_env(monkeypatch):\n"
        "    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)\n"
        "    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)\n\n\n" + conftest
    )
    pytester.makepyfile(**{f"test_{path.stem.lower()}_examples": tests})
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=count)


def test_every_outcome_constructor_has_a_documented_example() -> None:
    from pytest_fakeacme import outcomes

    tests, _ = _blocks(ROOT / "docs" / "outcomes.md")
    missing = [name for name in outcomes.CONSTRUCTORS if f"outcomes.{name}(" not in tests]
    assert missing == []
