"""Follow and notification journey in Chromium, with axe-core on every page visited: a resident
follows a proposal from its page, an administrator answers it, the resident's header counts the
unread notification, the notifications page says it is unread (in words), opening it leads to the
proposal and marks it read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from . import conftest as e2e
from .test_participation_journeys import (
    PROPOSALS,
    PROPOSALS_ADMIN,
    click_and_wait,
    dev_sign_in,
    open_page,
    persona_sign_in,
    visit,
)

pytestmark = pytest.mark.e2e

TITLE = "Més arbres al parc de la Ciutadella"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.LiveServer]:
    """This module's own app, database and identity provider (it signs up a provider persona)."""
    started = e2e.live_server.__wrapped__(tmp_path_factory)
    yield next(started)
    next(started, None)


def _proposal_path(page: Page, check_axe: Any) -> str:
    visit(page, check_axe, f"{PROPOSALS}/?q={TITLE}")
    link = page.locator("main .cards a", has_text=TITLE)
    expect(link).to_have_count(1)
    return link.get_attribute("href") or ""


def test_resident_follows_a_proposal_and_reads_the_answer_notification(
    page: Page, check_axe: Any, live_server: Any, new_context: Any
) -> None:
    persona_sign_in(page, check_axe, live_server, "resident", "rosa_follows", "Rosa F.", f"{PROPOSALS}/")
    path = _proposal_path(page, check_axe)
    pid = int(path.rstrip("/").rsplit("/", 1)[1])
    visit(page, check_axe, path)
    expect(page.locator("header .account a[href='/notifications/']")).to_have_text("Notifications (0 unread)")
    click_and_wait(page, f"form[action='/notifications/follow/Proposal/{pid}'] button")
    expect(page.locator(".flash")).to_contain_text("You follow this now")
    expect(page.locator(f"form[action='/notifications/unfollow/Proposal/{pid}'] button")).to_have_text(
        "Stop following")
    check_axe(page)
    page.locator("details.report summary").click()  # the report form, opened, is checked too
    expect(page.locator("details.report input[name='reason'][value='spam']")).to_be_visible()
    check_axe(page)

    admin_ctx: BrowserContext = new_context(bypass_csp=True)
    admin, errors = open_page(admin_ctx)
    dev_sign_in(admin, check_axe, "admin")
    visit(admin, check_axe, f"{PROPOSALS_ADMIN}/{pid}/answer")
    form = admin.locator(f"main form[action='{PROPOSALS_ADMIN}/{pid}/answer']")
    form.locator("select[name='state']").select_option("accepted")
    form.locator("textarea[name='answer']").fill("L'Ajuntament plantarà els arbres la tardor vinent.")
    with admin.expect_navigation():
        form.locator("button[type='submit']").click()
    visit(admin, check_axe, f"{PROPOSALS_ADMIN}/?unpublished=1")
    if admin.locator(f"main table a[href='{PROPOSALS_ADMIN}/{pid}/answer']").count():
        click_and_wait(admin, f"form[action='{PROPOSALS_ADMIN}/publish-answers'] button")
    assert errors == []

    visit(page, check_axe, "/")
    header_link = page.locator("header .account a[href='/notifications/']")
    expect(header_link).to_have_text("Notifications (1 unread)")
    with page.expect_navigation():
        header_link.click()
    check_axe(page)
    expect(page.locator("main h1")).to_have_text("Notifications")
    item = page.locator("main ol.notifications li").first
    expect(item.locator(".badge")).to_have_text("Unread")
    expect(item.locator("a")).to_have_text(f'The proposal "{TITLE}" has an answer: Accepted.')
    with page.expect_navigation():
        item.locator("a").click()
    assert page.url.split("?", 1)[0].endswith(path), page.url
    expect(page.locator("section[aria-labelledby='answer-title']")).to_contain_text("Accepted")
    check_axe(page)

    visit(page, check_axe, "/notifications/")
    expect(page.locator("main ol.notifications li .badge")).to_have_count(0)
    expect(page.locator("header .account a[href='/notifications/']")).to_have_text("Notifications (0 unread)")
    assert re.search(r"0 unread", page.locator("main .results-count").inner_text())
