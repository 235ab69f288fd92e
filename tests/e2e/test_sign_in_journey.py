"""A resident signs in with a persona of the development identity provider in Chromium, creates
their account, sees what is kept about them, and signs out; axe-core on every page of ours."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_resident_signs_in_with_a_persona_and_signs_up(page: Page, check_axe: Any, live_server: Any) -> None:
    page.goto("/locale/en?next=/sign-in")
    check_axe(page)
    provider_button = page.locator("form[action='/auth/dev/start'] button")
    expect(provider_button).to_have_count(1)
    expect(page.get_by_text("Development identity provider: not for real use")).to_be_visible()
    with page.expect_navigation():
        provider_button.click()
    assert page.url.startswith(live_server.idp_url), page.url  # the provider's persona picker
    with page.expect_navigation(url="**/sign-up"):
        page.locator("button[name='persona'][value='resident']").click()
    check_axe(page)
    page.fill("input[name='nickname']", "pere_e2e")
    page.fill("input[name='name']", "Pere")
    page.check("input[name='accept_terms']")
    with page.expect_navigation():
        page.locator("main form button[type='submit']").click()
    expect(page.locator("header a[href='/account']")).to_contain_text("Pere")
    check_axe(page)

    page.goto("/account")
    check_axe(page)
    expect(page.locator("main")).to_contain_text("Development identity provider")
    expect(page.locator("main table")).to_contain_text("Substantial")

    with page.expect_navigation():
        page.locator("header form[action='/sign-out'] button").click()
    # RP-initiated logout: the provider asks to confirm, then sends us back
    if page.url.startswith(live_server.idp_url):
        with page.expect_navigation(url=f"{live_server.url}/**"):
            page.locator("button[type='submit'], input[type='submit']").first.click()
    expect(page.locator("header")).to_contain_text("Sign in")
    check_axe(page)


def test_sign_up_errors_are_announced_and_keep_the_input(page: Page, check_axe: Any, live_server: Any) -> None:
    page.goto("/locale/en?next=/sign-in")
    with page.expect_navigation():
        page.locator("form[action='/auth/dev/start'] button").click()
    with page.expect_navigation(url="**/sign-up"):
        page.locator("button[name='persona'][value='non-resident']").click()
    page.fill("input[name='nickname']", "Bad Nick!")
    page.fill("input[name='name']", "Lucía")
    with page.expect_navigation():
        page.locator("main form button[type='submit']").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("input[name='nickname']")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("input[name='name']")).to_have_value("Lucía")
    check_axe(page)
