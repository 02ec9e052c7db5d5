"""The Boulder table itself: every row is reproduced by a test or says why not, no test names a
row that does not exist or does not apply, and the catalogue of Let's Encrypt's answers
(``docs/letsencrypt-answers.md``) is the table, rendered."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import answers_page
from boulder_table import AREAS, ROWS, go_format, pinning_tests, unknown_row_ids

TESTS = Path(__file__).resolve().parent


def test_row_ids_are_unique_and_every_area_has_rows() -> None:
    ids = Counter(r.id for r in ROWS)
    assert [i for i, n in ids.items() if n > 1] == []
    assert {r.area for r in ROWS} == set(AREAS)


def test_every_reproduced_row_is_pinned_by_a_test() -> None:
    pins = pinning_tests(TESTS)
    unpinned = [r.id for r in ROWS if r.verdict == "reproduced" and r.id not in pins]
    assert unpinned == []


def test_no_test_pins_a_row_that_does_not_apply() -> None:
    pins = pinning_tests(TESTS)
    pinned_anyway = [(r.id, pins[r.id]) for r in ROWS if r.verdict != "reproduced"
                     and r.id in pins]
    assert pinned_anyway == []


def test_tests_name_only_rows_that_exist() -> None:
    assert unknown_row_ids(TESTS) == []


def test_planned_rows_name_an_open_issue() -> None:
    assert [r.id for r in ROWS if r.planned and not r.planned.startswith("issue ")] == []


def test_go_format_is_gos() -> None:
    assert go_format('a %q b', 'say "hi"\n') == 'a "say \\"hi\\"\\n" b'
    assert go_format("%d of %s, 100%%", 3, "x") == "3 of x, 100%"


def test_the_catalogue_is_the_table_rendered() -> None:
    # After changing a row or a test that pins one: python tests/answers_page.py
    assert answers_page.PAGE.read_text(encoding="utf-8") == answers_page.render(TESTS)


def test_the_catalogue_links_boulder_at_the_commit() -> None:
    base = answers_page.BOULDER
    assert answers_page.boulder_links("wfe2/verify.go:161-164") == (
        f"[wfe2/verify.go:161-164]({base}wfe2/verify.go#L161-L164)")
    assert answers_page.boulder_links("va/caa.go:98, 145-170; ra/ra.go:7") == (
        f"[va/caa.go:98]({base}va/caa.go#L98), [145-170]({base}va/caa.go#L145-L170); "
        f"[ra/ra.go:7]({base}ra/ra.go#L7)")
    assert answers_page.boulder_links("grpc/pb-marshalling.go PbToRegistration") == (
        f"[grpc/pb-marshalling.go]({base}grpc/pb-marshalling.go) PbToRegistration")
