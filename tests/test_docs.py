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


#: Links to this repository's own files, as README.md gives them (a package index shows the
#: README away from the repository, where relative links go nowhere).
_REPOSITORY_LINK = re.compile(
    r"https://github\.com/pytest-fakeacme/pytest-fakeacme/(?:blob|tree)/main/([^)\s#\"]+)")
_RELATIVE_LINK = re.compile(r"\]\((?!https?://|#)([^)\s#]+)(?:#[^)\s]*)?\)")


def test_links_to_the_repository_name_files_it_has() -> None:
    texts = [ROOT / "README.md", ROOT / "pyproject.toml", *sorted((ROOT / "docs").glob("*.md"))]
    targets = {(path.name, target) for path in texts
               for target in _REPOSITORY_LINK.findall(path.read_text(encoding="utf-8"))}
    assert ("README.md", "docs/clients.md") in targets
    assert [t for t in targets if not (ROOT / t[1]).exists()] == []


def test_the_readme_has_no_relative_links() -> None:
    assert _RELATIVE_LINK.findall((ROOT / "README.md").read_text(encoding="utf-8")) == []


def test_relative_links_in_the_docs_stay_inside_and_resolve() -> None:
    # What `mkdocs build --strict` checks in CI (anchors too), in a test that needs no MkDocs.
    found = [(path.name, target) for path in sorted((ROOT / "docs").glob("*.md"))
             for target in _RELATIVE_LINK.findall(path.read_text(encoding="utf-8"))]
    assert ("clients.md", "interop.md") in found
    broken = [(name, target) for name, target in found
              if not (ROOT / "docs" / target).resolve().is_relative_to(ROOT / "docs")
              or not (ROOT / "docs" / target).exists()]
    assert broken == []


def test_every_docs_page_is_in_the_site_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*([\w-]+\.md)\s*$", config, re.M))
    assert listed == {path.name for path in (ROOT / "docs").glob("*.md")}


def test_the_journal_page_names_every_field_and_question() -> None:
    from dataclasses import fields

    from pytest_fakeacme.journal import Entry, Journal, JWSView

    text = (ROOT / "docs" / "journal.md").read_text(encoding="utf-8")
    names = {f.name for f in fields(Entry)} | {"jws", "retry_after", "resource", "line"}
    names |= {n for n in vars(JWSView) if not n.startswith("_")}
    names |= {n for n in dir(Journal) if not n.startswith("_")}
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # the examples are code
    spans = " ".join(re.findall(r"`([^`]+)`", prose))  # names count where code is quoted
    assert sorted(n for n in names if not re.search(rf"\b{n}\b", spans)) == []


def test_ci_runs_the_two_commands_the_readme_gives() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^    (\S.*)$", section, re.M)
    assert len(commands) == 2
    setup_and_demo, tests = commands
    demo = setup_and_demo.split(" && ")[-1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert demo == "python -m pytest_fakeacme demo"
    assert demo in ci
    assert ci[-1] == tests == "python -m pytest -n 2"  # exactly as given, the last word of CI
