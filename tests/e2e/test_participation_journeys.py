"""Participation journeys in Chromium, with axe-core on every page of ours visited:

1. a resident drafts, previews, publishes, supports and comments on a proposal;
2. an administrator answers a proposal, and the answer links to its public record entry;
3. three residents report a comment, which hides it; a moderator shows it again with a
   justification, and the public record lists the moderation decisions.

The demo organisation's proposals component of "pressupostos-2027" is component 1; its active
phase allows creating and supporting proposals.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from . import conftest as e2e

pytestmark = pytest.mark.e2e

PROCESS = "pressupostos-2027"
PROPOSALS = f"/processes/{PROCESS}/proposals/1"
PROPOSALS_ADMIN = f"/admin/processes/{PROCESS}/components/proposals/1"
MODERATION = f"/admin/processes/{PROCESS}/moderation"
PROPOSAL_URL = re.compile(re.escape(PROPOSALS) + r"/(\d+)(?:[?#].*)?$")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.LiveServer]:
    """This module's own app, database and identity provider (started as conftest's live_server
    does): these journeys sign up the provider's personas, which other modules expect to be new,
    and add proposals, supports and comments that other modules should not see."""
    started = e2e.live_server.__wrapped__(tmp_path_factory)
    yield next(started)
    next(started, None)


def visit(page: Page, check_axe: Any, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
    check_axe(page)


def click_and_wait(page: Page, selector: str) -> None:
    button = page.locator(selector)
    expect(button).to_have_count(1)
    with page.expect_navigation():
        button.click()


def open_page(ctx: BrowserContext) -> tuple[Page, list[str]]:
    """A page in a context made with new_context, collecting JavaScript errors."""
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    return p, errors


def persona_sign_in(page: Page, check_axe: Any, live_server: Any, persona: str, nickname: str, name: str,
                    next_path: str = "/") -> None:
    """Sign in through the development identity provider; sign up on the first sign-in."""
    visit(page, check_axe, f"/locale/en?next={quote('/sign-in?next=' + quote(next_path, safe=''), safe='')}")
    with page.expect_navigation():
        page.locator("form[action='/auth/dev/start'] button").click()
    assert page.url.startswith(live_server.idp_url), page.url  # the provider's persona picker
    with page.expect_navigation(url=lambda u: u.startswith(live_server.url)):
        page.locator(f"button[name='persona'][value='{persona}']").click()
    page.wait_for_load_state()
    if page.url.split("?", 1)[0].endswith("/sign-up"):
        check_axe(page)
        page.fill("input[name='nickname']", nickname)
        page.fill("input[name='name']", name)
        page.select_option("select[name='locale']", "en")
        page.check("input[name='accept_terms']")
        with page.expect_navigation():
            page.locator("main form button[type='submit']").click()
    expect(page.locator("header form[action='/sign-out']")).to_have_count(1)
    assert page.url.split("#", 1)[0].startswith(live_server.url + next_path.split("#", 1)[0]), page.url
    check_axe(page)


def dev_sign_in(page: Page, check_axe: Any, nickname: str, next_path: str = "/") -> None:
    """Development sign-in as a demo account (one POST form per account on /sign-in)."""
    visit(page, check_axe, f"/sign-in?next={quote(next_path, safe='')}")
    persona = page.locator("form[action*='/dev/sign-in/']").filter(has_text=f"(@{nickname})").locator("button")
    expect(persona).to_have_count(1)
    with page.expect_navigation():
        persona.click()
    expect(page.locator("header form[action='/sign-out']")).to_have_count(1)
    check_axe(page)


def proposal_id_of(url: str) -> int:
    match = PROPOSAL_URL.search(url)
    assert match, url
    return int(match.group(1))


def test_resident_drafts_publishes_supports_and_comments(page: Page, check_axe: Any, live_server: Any) -> None:
    persona_sign_in(page, check_axe, live_server, "resident", "pere_journeys", "Pere J.", f"{PROPOSALS}/")

    new_link = page.locator(f"main a[href='{PROPOSALS}/new']")
    expect(new_link).to_have_count(1)
    with page.expect_navigation():
        new_link.click()
    check_axe(page)

    # Too short: the errors are announced, the input kept.
    page.fill("input[name='title']", "Bancs")
    page.fill("textarea[name='body']", "Més bancs.")
    with page.expect_navigation() as sent:
        page.locator("main form[method='post'] button[type='submit']").click()
    assert sent.value is not None and sent.value.status == 422, sent.value and sent.value.status
    expect(page.locator(".error-summary[role='alert']")).to_be_visible()
    expect(page.locator("input[name='title']")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("input[name='title']")).to_have_value("Bancs")
    check_axe(page)

    title = "Bancs a l'ombra a la plaça del Sol"
    body = "Posar deu bancs nous sota els arbres de la plaça perquè la gent gran pugui descansar."
    page.fill("input[name='title']", title)
    page.fill("textarea[name='body']", body)
    with page.expect_navigation():
        page.locator("main form[method='post'] button[type='submit']").click()
    pid = proposal_id_of(page.url)  # the draft's preview
    expect(page.locator("main h1")).to_have_text(title)
    expect(page.locator(".proposal .body")).to_contain_text("deu bancs nous")
    expect(page.locator(".proposal header .badge.warning")).to_be_visible()  # draft: only the author sees it
    expect(page.locator(f"form[action='{PROPOSALS}/{pid}/support']")).to_have_count(0)
    expect(page.locator("#comments")).to_have_count(0)
    check_axe(page)

    click_and_wait(page, f"form[action='{PROPOSALS}/{pid}/publish'] button")
    assert proposal_id_of(page.url) == pid, page.url
    expect(page.locator(".proposal header .badge.warning")).to_have_count(0)
    expect(page.locator(".supports-count")).to_contain_text("0")
    check_axe(page)

    click_and_wait(page, f"form[action='{PROPOSALS}/{pid}/support'] button")
    assert proposal_id_of(page.url) == pid, page.url
    expect(page.locator(".supports-count")).to_contain_text("1 support")
    expect(page.locator(f"form[action='{PROPOSALS}/{pid}/support']")).to_have_count(0)
    expect(page.locator(f"form[action='{PROPOSALS}/{pid}/unsupport']")).to_have_count(1)
    expect(page.locator("main")).to_contain_text("You support this proposal.")
    check_axe(page)

    # The list shows the support and the "you support it" state.
    visit(page, check_axe, f"{PROPOSALS}/?order=recent")
    card = page.locator(f"#proposal-{pid}")
    expect(card.locator(f"a[href='{PROPOSALS}/{pid}']")).to_have_text(title)
    expect(card.locator(".supports")).to_contain_text("1 support")
    expect(card.locator(".supports")).to_contain_text("You support it")

    # A comment on it.
    visit(page, check_axe, f"{PROPOSALS}/{pid}")
    form = page.locator(f"#comments form.comment-form[action='/comments/Proposal/{pid}']").filter(
        has=page.locator("textarea#new-comment-body"))
    expect(form).to_have_count(1)
    comment = "Molt bona idea, sobretot a l'estiu."
    form.locator("textarea[name='body']").fill(comment)
    with page.expect_navigation():
        form.locator("button[type='submit']").click()
    assert proposal_id_of(page.url) == pid, page.url
    assert re.search(r"#comment-\d+$", page.url), page.url
    expect(page.locator("#comments .comment-body", has_text=comment)).to_have_count(1)
    check_axe(page)

    # A reply to it: each comment links to its reply page (no form under every comment), which comes
    # back to the new reply, nested under the comment.
    cid = re.search(r"#comment-(\d+)$", page.url).group(1)
    expect(page.locator("#comments textarea")).to_have_count(1)
    with page.expect_navigation():
        page.locator(f"#comment-{cid} a.reply-link").click()
    check_axe(page)
    expect(page.locator("main h1")).to_have_count(1)
    expect(page.locator("main blockquote")).to_contain_text(comment)
    page.locator("main form textarea[name='body']").fill("I a la tardor també.")
    with page.expect_navigation():
        page.locator("main form button[type='submit']").click()
    assert proposal_id_of(page.url) == pid, page.url
    reply_id = re.search(r"#comment-(\d+)$", page.url).group(1)
    assert reply_id != cid
    expect(page.locator(f"li:has(> #comment-{cid}) > ol.replies #comment-{reply_id} .comment-body")).to_have_text(
        "I a la tardor també.")
    check_axe(page)


def test_admin_answers_a_proposal_and_the_answer_is_on_the_record(page: Page, check_axe: Any) -> None:
    dev_sign_in(page, check_axe, "admin")
    visit(page, check_axe, f"{PROPOSALS_ADMIN}/")
    title = "Més arbres al parc de la Ciutadella"
    link = page.locator("main table a[href$='/answer']", has_text=title)
    expect(link).to_have_count(1)
    href = link.get_attribute("href") or ""
    match = re.search(r"/(\d+)/answer$", href)
    assert match, href
    pid = int(match.group(1))
    with page.expect_navigation():
        link.click()
    check_axe(page)

    answer = "L'Ajuntament plantarà els arbres la tardor vinent."
    form = page.locator(f"main form[action='{PROPOSALS_ADMIN}/{pid}/answer']")
    form.locator("select[name='state']").select_option("accepted")
    form.locator("textarea[name='answer']").fill(answer)
    with page.expect_navigation():
        form.locator("button[type='submit']").click()
    assert page.url.rstrip("/").endswith(PROPOSALS_ADMIN), page.url
    check_axe(page)

    # Publish the answer if the phase defers answers.
    visit(page, check_axe, f"{PROPOSALS_ADMIN}/?unpublished=1")
    if page.locator(f"main table a[href='{PROPOSALS_ADMIN}/{pid}/answer']").count():
        click_and_wait(page, f"form[action='{PROPOSALS_ADMIN}/publish-answers'] button")
        check_axe(page)

    visit(page, check_axe, f"{PROPOSALS}/{pid}")
    section = page.locator("section[aria-labelledby='answer-title']")
    expect(section.locator(".answer")).to_contain_text(answer)
    record_link = section.locator("a[href^='/transparency/']")
    expect(record_link).to_have_count(1)
    assert re.fullmatch(r"/transparency/\d+", record_link.get_attribute("href") or ""), record_link
    with page.expect_navigation():
        record_link.click()
    assert re.search(r"/transparency/\d+$", page.url), page.url
    check_axe(page)
    # The record keeps the answer's hash, not its text; the entry names the proposal.
    entry = json.loads(page.locator("section[aria-labelledby='verify-title'] pre.json").inner_text())
    assert entry["kind"] == "proposals.proposal.answer", entry
    assert entry["subject"] == {"id": pid, "type": "Proposal"}, entry
    content = json.loads(page.locator("section[aria-labelledby='what-title'] pre.json").inner_text())
    assert content["changes"]["state"] == "accepted", content
    assert content["changes"]["published"] is True, content
    assert content["changes"]["answer_sha256"] == hashlib.sha256(answer.encode()).hexdigest(), content


def report_comment(page: Page, check_axe: Any, proposal_path: str, comment_id: int) -> None:
    visit(page, check_axe, proposal_path)
    link = page.locator(f"#comment-{comment_id} a[href^='/moderation/report/Comment/{comment_id}']")
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    check_axe(page)
    page.check("input[name='reason'][value='spam']")
    page.fill("textarea[name='details']", "Publicitat repetida.")
    with page.expect_navigation():
        page.locator("main form[method='post'] button[type='submit']").click()
    assert page.url.split("#", 1)[0].endswith(proposal_path), page.url
    check_axe(page)


def test_reports_hide_a_comment_and_a_moderator_shows_it_again(
    page: Page, check_axe: Any, live_server: Any, new_context: Any
) -> None:
    title = "Carril bici segregat a la Gran Via"
    visit(page, check_axe, f"{PROPOSALS}/?order=recent")
    link = page.locator(f"main .cards a[href^='{PROPOSALS}/']", has_text=title)
    expect(link).to_have_count(1)
    proposal_path = link.get_attribute("href") or ""
    proposal_id_of(proposal_path)

    # @jordi (a demo account) comments; three other people report the comment.
    dev_sign_in(page, check_axe, "jordi", proposal_path)
    text = "Compreu rellotges barats a la meva botiga en línia!"
    form = page.locator("#comments form.comment-form").filter(has=page.locator("textarea#new-comment-body"))
    form.locator("textarea[name='body']").fill(text)
    with page.expect_navigation():
        form.locator("button[type='submit']").click()
    match = re.search(r"#comment-(\d+)$", page.url)
    assert match, page.url
    cid = int(match.group(1))
    expect(page.locator(f"#comment-{cid} .comment-body")).to_contain_text(text)
    check_axe(page)

    reporters = [("resident", "pere_journeys", "Pere J."), ("non-resident", "lucia_journeys", "Lucía J."),
                 ("high-assurance", "anna_journeys", "Anna J.")]
    for n, (persona, nickname, name) in enumerate(reporters, start=1):
        ctx = new_context(bypass_csp=True)
        reporter, errors = open_page(ctx)
        persona_sign_in(reporter, check_axe, live_server, persona, nickname, name, proposal_path)
        report_comment(reporter, check_axe, proposal_path, cid)
        if n < len(reporters):
            expect(reporter.locator(f"#comment-{cid}")).to_have_count(1)
        else:  # the third report hides it
            expect(reporter.locator(f"#comment-{cid}")).to_have_count(0)
        assert not errors, f"JavaScript errors on the page: {errors}"
        ctx.close()

    visit(page, check_axe, proposal_path)
    expect(page.locator(f"#comment-{cid}")).to_have_count(0)
    expect(page.locator("#comments")).not_to_contain_text(text)

    # The moderator @sam finds it among the hidden items and shows it again, with a justification.
    moderator_ctx = new_context(bypass_csp=True)
    moderator, errors = open_page(moderator_ctx)
    dev_sign_in(moderator, check_axe, "sam")
    visit(moderator, check_axe, f"{MODERATION}/")
    expect(moderator.locator("main table tbody tr", has_text=text)).to_have_count(0)  # no longer "reported"
    visit(moderator, check_axe, f"{MODERATION}/?which=hidden")
    row = moderator.locator("main table tbody tr", has_text=text)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("3")
    unhide = row.locator("a[href$='/unhide']")
    expect(unhide).to_have_count(1)
    with moderator.expect_navigation():
        unhide.click()
    check_axe(moderator)
    # An empty justification is refused, accessibly.
    with moderator.expect_navigation() as sent:
        moderator.locator("main form[method='post'] button[type='submit']").click()
    assert sent.value is not None and sent.value.status == 422, sent.value and sent.value.status
    expect(moderator.locator("textarea[name='justification']")).to_have_attribute("aria-invalid", "true")
    check_axe(moderator)
    justification = "Revisat: és un missatge legítim d'una botiga del barri."
    moderator.fill("textarea[name='justification']", justification)
    with moderator.expect_navigation():
        moderator.locator("main form[method='post'] button[type='submit']").click()
    assert moderator.url.split("?", 1)[0].rstrip("/").endswith(MODERATION), moderator.url
    check_axe(moderator)
    visit(moderator, check_axe, f"{MODERATION}/?which=hidden")
    expect(moderator.locator("main table tbody tr", has_text=text)).to_have_count(0)
    assert not errors, f"JavaScript errors on the page: {errors}"

    # The comment is back on the public page.
    visit(page, check_axe, proposal_path)
    expect(page.locator(f"#comment-{cid} .comment-body")).to_contain_text(text)

    # The public record lists the moderation decisions: the automatic hiding and the unhiding.
    for kind, reason in (("moderation.hide", None), ("moderation.unhide", justification)):
        visit(page, check_axe, f"/transparency/?kind={kind}")
        expect(page.locator(f"select[name='kind'] option[value='{kind}']")).to_have_count(1)
        newest = page.locator("main table tbody tr").first.locator("a[href^='/transparency/']")
        expect(newest).to_have_count(1)
        with page.expect_navigation():
            newest.click()
        check_axe(page)
        entry = json.loads(page.locator("section[aria-labelledby='verify-title'] pre.json").inner_text())
        assert entry["kind"] == kind, entry
        assert entry["space"]["type"] == "processes", entry
        what = page.locator("section[aria-labelledby='what-title']")
        content = json.loads(what.locator("pre.json").inner_text())
        assert content["changes"]["item"] == {"type": "Comment", "id": cid}, content
        if reason is None:
            assert content["changes"].get("automatic") is True, content
            assert "actor" not in entry or not entry["actor"] or entry["actor"].get("role") == "system", entry
        else:
            expect(what).to_contain_text(reason)
