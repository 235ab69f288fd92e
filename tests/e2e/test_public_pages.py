"""Public pages in every language: axe-core finds no WCAG 2.1 A/AA violation, <html lang> is right,
and the pages work with JavaScript off and under the app's strict CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

LOCALES = ["ca", "es", "en"]
PUBLIC_PAGES = ["/", "/processes/", "/processes/pressupostos-2027", "/transparency/", "/transparency/3",
                "/transparency/about", "/processes/pressupostos-2027/proposals/1/",
                "/processes/pressupostos-2027/proposals/1/1"]


def choose_locale(page: Page, code: str) -> None:
    """Switch language the way a visitor does: the language link sets a cookie and redirects."""
    response = page.goto(f"/locale/{code}?next=/")
    assert response is not None and response.ok, f"/locale/{code} answered {response and response.status}"
    assert page.url.endswith("/"), page.url


@pytest.mark.parametrize("locale", LOCALES)
def test_public_pages_are_accessible(page: Page, check_axe: Any, locale: str) -> None:
    choose_locale(page, locale)
    for path in PUBLIC_PAGES:
        response = page.goto(path)
        status = response.status if response else None
        assert status == 200, f"{path} answered {status}"
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.locator("h1")).to_have_count(1)
        check_axe(page)


def test_axe_check_reports_violations(page: Page, check_axe: Any) -> None:
    """The harness itself: a planted violation must be reported, with its id and target."""
    page.goto("/")
    page.evaluate(
        """() => {
            const img = document.createElement('img');
            img.id = 'planted';
            img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
            document.querySelector('main').appendChild(img);
        }"""
    )
    with pytest.raises(AssertionError) as failure:
        check_axe(page)
    assert "image-alt" in str(failure.value) and "#planted" in str(failure.value), str(failure.value)


def test_date_filter_tabs_work_without_javascript(new_context: Any) -> None:
    ctx = new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto("/processes/")
    # The skip link comes first in the tab order and moves focus to the main content.
    page.keyboard.press("Tab")
    expect(page.locator("a.skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    tabs = page.locator("nav.tabs")
    past = tabs.locator("a[href*='date=past']")
    expect(past).to_have_count(1)
    # The placa-raval process is over: it is not among the active processes shown by default.
    expect(page.locator("a[href$='/processes/placa-raval']")).to_have_count(0)

    past.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/processes/?*date=past*")
    expect(tabs.locator("a[aria-current='page']")).to_have_attribute("href", past.get_attribute("href") or "")
    expect(page.locator("a[href$='/processes/placa-raval']").first).to_be_visible()

    page.locator("a[href$='/processes/placa-raval']").first.click()
    page.wait_for_url("**/processes/placa-raval")
    expect(page.locator("h1")).to_have_count(1)


def test_pages_work_under_the_strict_csp(live_server: Any, new_context: Any) -> None:
    """The CSP is not bypassed here: its header is sent and nothing on the pages breaks it."""
    ctx = new_context()
    page = ctx.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}")
        if "Content Security Policy" in msg.text or msg.type == "error" and "favicon" not in msg.text
        else None,
    )
    for path in PUBLIC_PAGES + ["/sign-in"]:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp, f"{path}: CSP header is {csp!r}"
        assert "unsafe-inline" not in csp, f"{path}: CSP header is {csp!r}"
    assert not problems, "\n".join(problems)
