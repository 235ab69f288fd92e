"""Endorsement and amendment journeys in Chromium, with axe-core on every page visited:

1. a resident endorses a proposal as themselves (named) and on behalf of their association, and
   withdraws the association's endorsement;
2. the demo's waiting amendment (Sam's, of Lucia's bike lane) is answered: Lucia accepts it, the
   proposal takes its text and keeps its earlier version;
3. a resident drafts an amendment (errors announced), checks the differences, publishes it; the
   author rejects it; its author turns it into a proposal of their own.

The demo's proposals component of "pressupostos-2027" is component 1; it has amendments and
endorsements enabled.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from . import conftest as e2e
from .test_participation_journeys import PROPOSALS, click_and_wait, dev_sign_in, proposal_id_of, visit

pytestmark = pytest.mark.e2e

TREES = "Més arbres al parc de la Ciutadella"
BIKE_LANE = "Carril bici segregat a la Gran Via"
FOUNTAINS = "Fonts d'aigua potable als patis d'escola"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.LiveServer]:
    """This module's own app and database: the journeys change the demo's proposals."""
    started = e2e.live_server.__wrapped__(tmp_path_factory)
    yield next(started)
    next(started, None)


def sign_in(page: Page, check_axe: Any, nickname: str, next_path: str = "/") -> None:
    """A fresh development sign-in, the interface in English (the cookie outranks the account's locale)."""
    page.context.clear_cookies()
    page.goto("/locale/en")
    dev_sign_in(page, check_axe, nickname, next_path)


def open_proposal(page: Page, check_axe: Any, title: str) -> int:
    visit(page, check_axe, f"{PROPOSALS}/?order=recent")
    link = page.locator("main .card h2 a", has_text=title).first
    with page.expect_navigation():
        link.click()
    check_axe(page)
    return proposal_id_of(page.url)


def test_resident_endorses_as_themselves_and_for_their_association(page: Page, check_axe: Any) -> None:
    sign_in(page, check_axe, "lucia")
    pid = open_proposal(page, check_axe, FOUNTAINS)
    section = page.locator("section.endorsements")
    expect(section.locator(".endorsements-count")).to_have_text("0 endorsements")
    section.locator("input#show_name").check()
    click_and_wait(page, f"form.endorse-form[action='{PROPOSALS}/{pid}/endorse'] button")
    assert page.url.endswith("#endorsements-title"), page.url
    expect(section.locator(".endorsements-count")).to_have_text("1 endorsement")
    expect(section.locator("ul.endorsers")).to_contain_text("Lucía")
    check_axe(page)

    host_button = section.locator("ul.endorse-hosts button", has_text="Endorse on behalf of")
    expect(host_button).to_have_count(1)
    with page.expect_navigation():
        host_button.click()
    expect(section.locator(".endorsements-count")).to_have_text("2 endorsements")
    check_axe(page)
    withdraw = section.locator("ul.endorse-hosts button", has_text="Withdraw the endorsement of")
    with page.expect_navigation():
        withdraw.click()
    expect(section.locator(".endorsements-count")).to_have_text("1 endorsement")
    expect(section.locator("form[action$='/unendorse'] button", has_text="Withdraw my endorsement")).to_have_count(1)

    visit(page, check_axe, f"{PROPOSALS}/?order=most_endorsed")
    expect(page.locator("main .card").first.locator("h2")).to_contain_text(TREES)  # the demo's 2 endorsements


def test_author_accepts_the_waiting_amendment(page: Page, check_axe: Any) -> None:
    sign_in(page, check_axe, "lucia")
    pid = open_proposal(page, check_axe, BIKE_LANE)
    item = page.locator("ul.amendments-list li", has_text="Meridiana")
    expect(item).to_contain_text("Waiting for the author")
    with page.expect_navigation():
        item.locator("a").click()
    expect(page.locator("main .diff-body ins")).to_contain_text("Meridiana")
    expect(page.locator("main .diff-body ins .visually-hidden").first).to_have_text("[added: ")
    check_axe(page)
    click_and_wait(page, "main form[action$='/accept'] button")
    assert proposal_id_of(page.url) == pid, page.url
    expect(page.locator("main h1")).to_have_text("Carril bici segregat a la Gran Via i a la Meridiana")
    expect(page.locator("section.amendments .amended-by")).to_contain_text("Sam")
    page.locator("ol.versions summary").click()
    expect(page.locator("ol.versions")).to_contain_text(BIKE_LANE)
    check_axe(page)


def test_resident_amends_author_rejects_amender_promotes(page: Page, check_axe: Any) -> None:
    sign_in(page, check_axe, "lucia")
    pid = open_proposal(page, check_axe, TREES)
    with page.expect_navigation():
        page.locator(f"main a[href='{PROPOSALS}/{pid}/amend']").click()
    expect(page.locator("input[name='title']")).to_have_value(TREES)
    check_axe(page)
    page.fill("input[name='title']", "Arbres")
    with page.expect_navigation() as sent:
        page.locator("main form[method='post'] button[type='submit']").click()
    assert sent.value is not None and sent.value.status == 422
    expect(page.locator(".error-summary[role='alert']")).to_be_visible()
    expect(page.locator("input[name='title']")).to_have_attribute("aria-invalid", "true")
    check_axe(page)
    title = "Més arbres fruiters al parc de la Ciutadella"
    page.fill("input[name='title']", title)
    with page.expect_navigation():
        page.locator("main form[method='post'] button[type='submit']").click()
    expect(page.locator("main .diff-title ins")).to_contain_text("fruiters")
    check_axe(page)
    click_and_wait(page, "main form[action$='/publish'] button")
    amendment_url = page.url
    check_axe(page)

    sign_in(page, check_axe, "pere", "/" + amendment_url.split("/", 3)[3])
    click_and_wait(page, "main form[action$='/reject'] button")
    expect(page.locator("main .badge").first).to_have_text("Rejected")
    check_axe(page)

    sign_in(page, check_axe, "lucia", "/" + amendment_url.split("/", 3)[3])
    click_and_wait(page, "main form[action$='/promote'] button")
    expect(page.locator("main h1")).to_have_text(title)
    expect(page.locator("main .meta")).to_contain_text("Lucía")
    check_axe(page)
