"""Proposals at scale: one proposals component with N proposals, ~3 supports and ~1.5 comments each.

    python bench/proposals_seed.py --database-url URL [--proposals 2000] [--mode auto|services|bulk]
                                   [--hot-comments 300] [--random-seed 1] [--no-migrate]

The database is migrated first (Alembic, head) and gets the demo organisation (bench/seed.py's host
127.0.0.1) if missing. Then, in a new published process `bench-proposals` with one active phase
(creation, supports and comments open), a proposals component whose `support` action needs a
verified person (one person, one support), and:

- N/4 participants, each with an eligibility grant and an active person verification (a person key
  derived as the identity flow derives it from a national ID number);
- N published proposals by those participants: generated titles and bodies of varied lengths in
  Catalan, Spanish or English, references, publication times spread over the last 90 days;
- about 3 supports per proposal (a skewed distribution: many with none or few, some with dozens),
  each by a distinct verified person;
- about 1.5 comments per proposal in threads down to depth 3, plus `--hot-comments` on the first
  proposal (the proposal page of the benchmark, with a full page of comments and replies).

`--mode services` writes everything through the real services (create_proposal, publish_proposal,
support_proposal, create_comment), so the public record gets one decision per publication as in
production; it is the default up to 5,000 proposals. `--mode bulk` (the default above) writes the
same rows with multi-row INSERTs (SQLAlchemy's insertmanyvalues, one statement per 1,000 rows on
SQLite and PostgreSQL): the same columns the services set (counters equal to the rows, person keys,
lock rows, references, published_at, thread roots and depths, one publication decision per proposal
with its entry in the log's outbox). Either way the log is integrated at the end and a consistency
check recounts every counter from the rows; any difference is an error (exit status 1).

Same --random-seed, same data. If the component is already there the seeder does nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(BENCH) not in sys.path:  # after the project: bench/proposals.py must not hide the proposals package
    sys.path.append(str(BENCH))

from seed import ORG_HOST, PLACES, _t, make_app  # noqa: E402

PROCESS_SLUG = "bench-proposals"
NICK_PREFIX = "bench-p"
SERVICES_MAX = 5000  # --mode auto: through the services up to this many proposals
BODY_MAX = 500  # the component's proposal_length (the default)

# --- generated text -------------------------------------------------------------------------------

# Per language: verbs (start of a title), things, complements, and sentence openings / reasons for
# the bodies. Real words, combined at random: titles of 4 to 20 words, bodies of 1 to 6 sentences.
LEXICON: dict[str, dict[str, list[str]]] = {
    "ca": {
        "verbs": ["Instal·lar", "Ampliar", "Crear", "Millorar", "Renovar", "Recuperar", "Pacificar",
                  "Obrir", "Protegir", "Arreglar", "Posar", "Senyalitzar"],
        "things": ["fonts d'aigua potable", "bancs a l'ombra", "un carril bici segregat", "més arbres",
                   "un parc infantil", "l'enllumenat dels carrers", "un hort urbà", "les voreres",
                   "la biblioteca del barri", "un espai per a gossos", "aparcaments per a bicicletes",
                   "la plaça del mercat", "un pas de vianants", "el casal de joves"],
        "complements": ["per a tothom", "al costat de l'escola", "a prop del mercat", "per a la gent gran",
                        "els caps de setmana", "a l'estiu", "amb criteris d'accessibilitat", "de manera segura"],
        "prep": ["a", "a", "al barri de"],
        "openings": ["Els veïns demanem", "Proposem", "Cal", "Seria bo", "Fa anys que esperem",
                     "Moltes famílies necessiten"],
        "reasons": ["perquè ara no n'hi ha prou", "perquè el carrer és perillós a la nit",
                    "ja que a l'estiu fa molta calor", "per fer el barri més amable",
                    "perquè la gent gran pugui descansar", "i així els infants podran jugar tranquils",
                    "tal com es va acordar a l'assemblea", "amb un cost raonable per a l'Ajuntament"],
    },
    "es": {
        "verbs": ["Instalar", "Ampliar", "Crear", "Mejorar", "Renovar", "Recuperar", "Pacificar", "Abrir",
                  "Proteger", "Arreglar", "Poner", "Señalizar"],
        "things": ["fuentes de agua potable", "bancos a la sombra", "un carril bici segregado", "más árboles",
                   "un parque infantil", "el alumbrado de las calles", "un huerto urbano", "las aceras",
                   "la biblioteca del barrio", "un espacio para perros", "aparcamientos para bicicletas",
                   "la plaza del mercado", "un paso de peatones", "el centro joven"],
        "complements": ["para todo el mundo", "junto a la escuela", "cerca del mercado", "para la gente mayor",
                        "los fines de semana", "en verano", "con criterios de accesibilidad", "de forma segura"],
        "prep": ["en", "en", "en el barrio de"],
        "openings": ["Los vecinos pedimos", "Proponemos", "Hace falta", "Sería bueno", "Hace años que esperamos",
                     "Muchas familias necesitan"],
        "reasons": ["porque ahora no hay suficientes", "porque la calle es peligrosa de noche",
                    "ya que en verano hace mucho calor", "para hacer el barrio más amable",
                    "para que la gente mayor pueda descansar", "y así los niños podrán jugar tranquilos",
                    "tal como se acordó en la asamblea", "con un coste razonable para el Ayuntamiento"],
    },
    "en": {
        "verbs": ["Install", "Extend", "Create", "Improve", "Renovate", "Bring back", "Calm traffic around",
                  "Open", "Protect", "Repair", "Put up", "Signpost"],
        "things": ["drinking fountains", "benches in the shade", "a protected cycle lane", "more trees",
                   "a playground", "the street lighting", "a community garden", "the pavements",
                   "the neighbourhood library", "a dog park", "bicycle parking", "the market square",
                   "a pedestrian crossing", "the youth centre"],
        "complements": ["for everyone", "next to the school", "near the market", "for older people",
                        "at weekends", "in summer", "with accessibility in mind", "safely"],
        "prep": ["in", "in", "in the neighbourhood of"],
        "openings": ["We residents ask for", "We propose", "We need", "It would be good to have",
                     "We have been waiting years for", "Many families need"],
        "reasons": ["because there are not enough now", "because the street is dangerous at night",
                    "since it gets very hot in summer", "to make the neighbourhood friendlier",
                    "so that older people can rest", "so children can play safely",
                    "as agreed at the residents' assembly", "at a reasonable cost for the city"],
    },
}
LANGS = ["ca", "es", "en"]
FIRST = ["Anna", "Jordi", "Marta", "Pau", "Laia", "Joan", "Núria", "Carlos", "Lucía", "Aisha", "Omar", "Mei",
         "Sofía", "David", "Elena", "Pere", "Montse", "Iker", "Fatima", "Xavier", "Irene", "Hugo"]
LAST = ["Puig", "Garcia", "Martínez", "Soler", "Vidal", "Ferrer", "López", "Serra", "Khan", "Costa", "Roca",
        "Font", "Navarro", "Chen", "Pons", "Ruiz", "Camps", "Sala"]


def make_title(rng: random.Random, lang: str) -> str:
    w = LEXICON[lang]
    parts = [rng.choice(w["verbs"]), rng.choice(w["things"])]
    if rng.random() < 0.6:
        parts.append(rng.choice(w["complements"]))
    parts += [rng.choice(w["prep"]), rng.choice(PLACES)]
    if rng.random() < 0.25:
        parts += ["—", rng.choice(w["reasons"])]
    return " ".join(parts)[:150]


def make_body(rng: random.Random, lang: str) -> str:
    w = LEXICON[lang]
    sentences = []
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4, 6])):
        s = f"{rng.choice(w['openings'])} {rng.choice(w['things'])} {rng.choice(w['complements'])}"
        s += f" {rng.choice(w['reasons'])}."
        sentences.append(s)
    paragraphs, text = [], ""
    for s in sentences:
        candidate = (text + ("\n" if paragraphs and rng.random() < 0.3 else " ") + s).strip()
        if len(candidate) > BODY_MAX:
            break
        text = candidate
        paragraphs.append(s)
    return text


def make_comment(rng: random.Random, lang: str) -> str:
    w = LEXICON[lang]
    return f"{rng.choice(w['openings'])} {rng.choice(w['things'])} {rng.choice(w['reasons'])}."[:1000]


# --- the plan: everything drawn before any row is written -------------------------------------------


@dataclass
class CommentPlan:
    author: int  # index into the participants
    body: str
    parent: int | None  # index into the proposal's comments (earlier ones only)
    depth: int


@dataclass
class ProposalPlan:
    author: int
    title: str
    body: str
    published_at: datetime
    supporters: list[int]
    comments: list[CommentPlan] = field(default_factory=list)


def plan_proposals(n: int, people: int, *, now: datetime, hot_comments: int = 300, supports_mean: float = 3.0,
                   comments_mean: float = 1.5, random_seed: int = 1) -> list[ProposalPlan]:
    """N proposals by `people` participants, oldest first (as ids grow)."""
    rng = random.Random(random_seed)
    start = now - timedelta(days=90)
    plans = []
    for i in range(n):
        lang = rng.choices(LANGS, weights=[45, 40, 15])[0]
        k = min(people, round(rng.expovariate(1 / supports_mean))) if supports_mean > 0 else 0
        if i == 0:
            n_comments = hot_comments
        else:
            n_comments = round(rng.expovariate(1 / comments_mean)) if comments_mean > 0 else 0
        plan = ProposalPlan(
            author=rng.randrange(people), title=make_title(rng, lang), body=make_body(rng, lang),
            published_at=start + timedelta(seconds=(90 * 86400 - 3600) * i / max(1, n) + rng.randint(0, 60)),
            supporters=rng.sample(range(people), k),
        )
        for _ in range(n_comments):
            open_ = [j for j, c in enumerate(plan.comments) if c.depth < 3]
            if open_ and rng.random() < 0.4:
                parent = rng.choice(open_[-20:])
                plan.comments.append(CommentPlan(rng.randrange(people), make_comment(rng, lang), parent,
                                                 plan.comments[parent].depth + 1))
            else:
                plan.comments.append(CommentPlan(rng.randrange(people), make_comment(rng, lang), None, 0))
        plans.append(plan)
    return plans


# --- setup: the organisation, the process and the component ----------------------------------------


def setup_component(org: Any, *, slug: str = PROCESS_SLUG) -> Any:
    """A published process with one active phase and a published proposals component in it: creation,
    supports and comments open; `support` needs a verified person. Through the admin services."""
    from datetime import date

    from decidim_py.accounts.system import SystemActor
    from decidim_py.components import add_component, publish_component, update_component
    from decidim_py.identity.eligibility import RequirementData, set_requirement
    from decidim_py.identity.models import Assurance
    from processes import services as ps
    from processes.services import ProcessData, StepData

    system = SystemActor(org.id)
    today = date.today()
    process = ps.create_process(system, org, ProcessData(
        slug=slug,
        title=_t("Propostes per als barris", "Propuestas para los barrios", "Proposals for the neighbourhoods"),
        short_description=_t("Què cal millorar al teu barri?", "¿Qué hay que mejorar en tu barrio?",
                             "What should be improved in your neighbourhood?"),
        start_date=today - timedelta(days=120), end_date=today + timedelta(days=120),
    ))
    step = ps.add_step(system, process, StepData(title=_t("Propostes", "Propuestas", "Proposals"),
                                                 start_date=today - timedelta(days=120),
                                                 end_date=today + timedelta(days=120)))
    ps.publish_process(system, process)
    component = add_component(system, process, "proposals", _t("Propostes", "Propuestas", "Proposals"))
    update_component(system, component, global_values={"proposal_length": BODY_MAX}, step_values={
        step.id: {"creation_enabled": True, "votes_enabled": True}})
    set_requirement(system, component, "support", RequirementData(level=Assurance.SUBSTANTIAL, person_key=True))
    publish_component(system, component)
    return component


def insert_returning(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Multi-row INSERTs (insertmanyvalues); the new ids in the order of `rows`."""
    from sqlalchemy import insert

    from decidim_py.db import db

    if not rows:
        return []
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return [r[0] for r in db.session.execute(stmt, rows)]


def allocate_ids(model: Any, n: int) -> list[int]:
    """`n` new ids of `model`, as the database hands them out: from the table's sequence on
    PostgreSQL (so other writers never collide), after the largest id on SQLite (one writer)."""
    from sqlalchemy import func, select, text

    from decidim_py.db import db

    table = model.__table__
    if n <= 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return sorted(db.session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"), {"t": table.name, "n": n}))
    start = db.session.scalar(select(func.max(table.c.id))) or 0
    return list(range(start + 1, start + n + 1))


def insert_rows(model: Any, rows: list[dict[str, Any]], chunk: int = 20000) -> None:
    """Write `rows` in order (a row may refer to an earlier one), in the session's transaction:
    COPY on PostgreSQL, multi-row INSERTs on SQLite."""
    from sqlalchemy import insert

    from decidim_py.db import db

    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        _copy(model.__table__, rows)
        return
    for i in range(0, len(rows), chunk):
        db.session.execute(insert(model), rows[i:i + chunk])


def _copy(table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY ... FROM STDIN with the values the ORM would send: the columns' Python-side defaults
    for those the rows leave out, each value through its column type's bind processor."""
    from decidim_py.db import db

    dialect = db.session.get_bind().dialect
    given = list(rows[0])
    extra = [c for c in table.c if c.name not in given and c.default is not None]
    columns = [table.c[name] for name in given] + extra
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    names = ", ".join(f'"{c.name}"' for c in columns)
    raw = db.session.connection().connection.driver_connection  # the psycopg connection, same transaction
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = [row[name] for name in given]
            values += [c.default.arg(None) if c.default.is_callable else c.default.arg for c in extra]
            copy.write_row([p(v) if p else v for p, v in zip(processors, values, strict=True)])


def insert_people(org: Any, count: int, *, now: datetime, random_seed: int = 1,
                  prefix: str = NICK_PREFIX) -> list[tuple[int, str]]:
    """`count` participants with an eligibility grant (substantial, resident) and an active person
    verification each, as the identity flow leaves them. Returns (user id, person key) pairs."""
    from decidim_py.accounts.models import User
    from decidim_py.identity.keys import person_key
    from decidim_py.identity.models import Assurance, EligibilityGrant, PersonKeyKind, PersonVerification

    rng = random.Random(random_seed + 7)
    users = [{"organization_id": org.id, "nickname": f"{prefix}-{i:06d}",
              "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "locale": rng.choice(LANGS),
              "terms_accepted_at": now, "created_at": now, "updated_at": now} for i in range(count)]
    ids = insert_returning(User, users)
    keys = [person_key(org.id, f"{prefix}{org.id}-{i:08d}Z", kind="national_id") for i in range(count)]
    insert_returning(EligibilityGrant, [
        {"user_id": uid, "level": Assurance.SUBSTANTIAL, "is_resident": True, "age_from": {},
         "verified_at": now, "expires_at": now + timedelta(days=365), "source": "oidc"} for uid in ids])
    insert_returning(PersonVerification, [
        {"organization_id": org.id, "person_key": key, "kind": PersonKeyKind.NATIONAL_ID, "user_id": uid,
         "level": Assurance.SUBSTANTIAL, "created_at": now} for uid, key in zip(ids, keys, strict=True)])
    return list(zip(ids, keys, strict=True))


# --- bulk writers: the rows the services would write ------------------------------------------------


def reference_prefix(org: Any) -> str:
    return org.host.split(".")[0].upper()  # as proposals.services.reference_for


def bulk_proposals(org: Any, component: Any, plans: list[ProposalPlan], people: list[tuple[int, str]],
                   *, log: bool = True) -> list[int]:
    """create_proposal + publish_proposal for each plan, in bulk: the proposals (reference from the
    id, edited_at = published_at, supports_count and comments_count from the plan), the authors' lock rows and, with
    `log`, one public decision "proposals.proposal.publish" per proposal with its outbox entry."""
    from decidim_py.db import db
    from proposals.models import Proposal, ProposalLock
    from proposals.services import sha256

    ids = allocate_ids(Proposal, len(plans))
    prefix = reference_prefix(org)
    rows = []
    for p, pid in zip(plans, ids, strict=True):
        created = p.published_at - timedelta(minutes=5)
        rows.append({"id": pid, "organization_id": org.id, "component_id": component.id,
                     "author_id": people[p.author][0], "title": p.title, "body": p.body,
                     "reference": f"{prefix}-PROP-{created.year:04d}-{created.month:02d}-{pid}",
                     "created_at": created, "updated_at": p.published_at, "edited_at": p.published_at,
                     "published_at": p.published_at, "supports_count": len(p.supporters)})
        if "comments_count" in Proposal.__table__.c:  # kept by the comments hook: the comments written after
            rows[-1]["comments_count"] = len(p.comments)
    insert_rows(Proposal, rows)
    insert_locks(ProposalLock, component.id, {f"author:{people[p.author][0]}" for p in plans})
    if log:
        from decidim_py.transparency.entries import build_entry
        from decidim_py.transparency.models import DecisionRecord, LogOutbox, Visibility
        from decidim_py.transparency.service import actor_role

        role = actor_role(_first_user(people), component.space)  # every bench participant: no role
        records = [{"id": rid, "organization_id": org.id, "created_at": r["published_at"], "actor_id": r["author_id"],
                    "actor_role": role, "action": "proposals.proposal.publish", "resource_type": "Proposal",
                    "resource_id": r["id"], "space_type": component.space_type, "space_id": component.space_id,
                    "component_id": component.id, "visibility": Visibility.PUBLIC,
                    "changes": {"reference": r["reference"], "title_sha256": sha256(r["title"]),
                                "body_sha256": sha256(r["body"])}}
                   for r, rid in zip(rows, allocate_ids(DecisionRecord, len(rows)), strict=True)]
        insert_rows(DecisionRecord, records)
        insert_rows(LogOutbox, [{"organization_id": org.id, "record_id": rec["id"], "created_at": rec["created_at"],
                                 "entry": build_entry(DecisionRecord(**rec), db.session)} for rec in records])
    return ids


def _first_user(people: list[tuple[int, str]]) -> Any:
    from decidim_py.accounts.models import User
    from decidim_py.db import db

    return db.session.get(User, people[0][0])


def insert_locks(model: Any, component_id: int, keys: set[str]) -> None:
    """The (component, key) lock rows the services create on first use, for the keys not there yet."""
    from sqlalchemy import select

    from decidim_py.db import db

    present = set(db.session.scalars(select(model.key).where(model.component_id == component_id)))
    insert_rows(model, [{"component_id": component_id, "key": k} for k in sorted(keys - present)])


def bulk_supports(component: Any, plans: list[ProposalPlan], proposal_ids: list[int],
                  people: list[tuple[int, str]]) -> int:
    """support_proposal for every supporter, in bulk: final supports (no per-user minimum) on the
    person key, and the supporters' lock rows. The counters were written with the proposals."""
    from proposals.models import ProposalLock, ProposalSupport

    rows = [{"proposal_id": pid, "component_id": component.id, "user_id": people[who][0],
             "person_key": people[who][1], "is_temporary": False,
             "created_at": p.published_at + timedelta(minutes=10 + k)}
            for p, pid in zip(plans, proposal_ids, strict=True) for k, who in enumerate(p.supporters)]
    insert_rows(ProposalSupport, rows)
    insert_locks(ProposalLock, component.id, {people[who][1] for p in plans for who in p.supporters})
    return len(rows)


def bulk_comments(org: Any, component: Any, plans: list[ProposalPlan], proposal_ids: list[int],
                  people: list[tuple[int, str]]) -> int:
    """create_comment for every planned comment, in bulk: parent, root and depth as the service sets
    them and replies_count on the roots (the proposals' comments_count was written with them). Ids
    are taken up front, so a reply always follows its parent in the INSERTs."""
    from decidim_py.comments.models import Comment

    ids = iter(allocate_ids(Comment, sum(len(p.comments) for p in plans)))
    rows: list[dict[str, Any]] = []
    for p, pid in zip(plans, proposal_ids, strict=True):
        mine: list[dict[str, Any]] = []
        for j, c in enumerate(p.comments):
            at = p.published_at + timedelta(hours=1, minutes=j)
            parent = mine[c.parent] if c.parent is not None else None
            root = None if parent is None else (parent["root"] or parent)
            mine.append({"id": next(ids), "organization_id": org.id, "component_id": component.id,
                         "resource_type": "Proposal", "resource_id": pid,
                         "parent_id": parent["id"] if parent else None, "root_id": root["id"] if root else None,
                         "root": root, "depth": c.depth, "author_id": people[c.author][0], "body": c.body,
                         "alignment": 0, "up_votes": 0, "down_votes": 0, "replies_count": 0,
                         "created_at": at, "updated_at": at})
            if root is not None:
                root["replies_count"] += 1
        rows.extend(mine)
    for row in rows:
        del row["root"]
    insert_rows(Comment, rows)
    return len(rows)


# --- through the services -------------------------------------------------------------------------


def via_services(component: Any, plans: list[ProposalPlan], people: list[tuple[int, str]], *,
                 batch: int = 100) -> list[int]:
    """Each proposal, support and comment through its service, as participants' requests would."""
    from sqlalchemy import select

    from decidim_py.accounts.models import User
    from decidim_py.comments.services import create_comment
    from decidim_py.components import Component
    from decidim_py.db import db
    from proposals import services as s

    component_id = component.id

    def load() -> tuple[Any, dict[int, Any]]:
        by_id = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([p[0] for p in people])))}
        return db.session.get(Component, component_id), by_id

    component, users = load()
    ids = []
    t0 = time.perf_counter()
    for i, p in enumerate(plans):
        author = users[people[p.author][0]]
        proposal = s.publish_proposal(author, s.create_proposal(author, component, s.ProposalData(p.title, p.body)))
        ids.append(proposal.id)
        for who in p.supporters:
            s.support_proposal(users[people[who][0]], proposal)
        made: list[Any] = []
        for c in p.comments:
            parent = made[c.parent] if c.parent is not None else None
            made.append(create_comment(users[people[c.author][0]], proposal, c.body, parent=parent))
        if (i + 1) % batch == 0 or i + 1 == len(plans):
            db.session.commit()
            db.session.expunge_all()  # keep the identity map small
            component, users = load()
            elapsed = time.perf_counter() - t0
            print(f"  {i + 1:>7}/{len(plans)} proposals  {elapsed:7.1f} s  ({(i + 1) / elapsed:.0f}/s)", flush=True)
    return ids


# --- consistency ----------------------------------------------------------------------------------


def check_consistency(component_id: int, *, log: bool = True) -> dict[str, int]:
    """Recount every counter from the rows and check the shapes the services guarantee (with `log`,
    also one integrated publication decision per proposal); returns the totals and raises
    AssertionError listing every difference found."""
    from sqlalchemy import and_, func, select
    from sqlalchemy.orm import aliased

    from decidim_py.comments.models import Comment
    from decidim_py.components import Component
    from decidim_py.db import db
    from decidim_py.identity.models import PersonVerification
    from decidim_py.tenancy import Organization
    from decidim_py.transparency.models import DecisionRecord, LogOutbox
    from proposals.models import Proposal, ProposalLock, ProposalSupport

    component = db.session.get(Component, component_id)
    org = db.session.get(Organization, component.organization_id)
    problems: list[str] = []
    in_component = Proposal.component_id == component_id
    final = (select(func.count()).select_from(ProposalSupport)
             .where(ProposalSupport.proposal_id == Proposal.id, ProposalSupport.is_temporary.is_(False))
             .correlate(Proposal).scalar_subquery())
    bad = db.session.scalar(select(func.count()).select_from(Proposal).where(in_component,
                                                                             Proposal.supports_count != final))
    if bad:
        problems.append(f"{bad} proposals whose supports_count differs from their final supports")
    comments_of = (select(func.count()).select_from(Comment)
                   .where(Comment.organization_id == Proposal.organization_id,  # the index's first column
                          Comment.resource_type == "Proposal", Comment.resource_id == Proposal.id,
                          Comment.deleted_at.is_(None))
                   .correlate(Proposal).scalar_subquery())
    if "comments_count" in Proposal.__table__.c:
        bad = db.session.scalar(select(func.count()).select_from(Proposal).where(
            in_component, Proposal.__table__.c.comments_count != comments_of))
        if bad:
            problems.append(f"{bad} proposals whose comments_count differs from their comments")
    root = aliased(Comment)
    replies = (select(func.count()).select_from(root).where(root.root_id == Comment.id)
               .correlate(Comment).scalar_subquery())
    mine = Comment.component_id == component_id
    bad = db.session.scalar(select(func.count()).select_from(Comment).where(
        mine, Comment.parent_id.is_(None), Comment.replies_count != replies))
    if bad:
        problems.append(f"{bad} top-level comments whose replies_count differs from their replies")
    bad = db.session.scalar(select(func.count()).select_from(Comment).where(
        mine, Comment.parent_id.is_(None), (Comment.depth != 0) | Comment.root_id.is_not(None)))
    if bad:
        problems.append(f"{bad} top-level comments with a depth or a root")
    parent = aliased(Comment)
    bad = db.session.scalar(select(func.count()).select_from(Comment).join(parent, Comment.parent_id == parent.id)
                            .where(mine, (Comment.depth != parent.depth + 1)
                                   | (Comment.root_id != func.coalesce(parent.root_id, parent.id))
                                   | (Comment.resource_id != parent.resource_id) | (Comment.depth > 3)))
    if bad:
        problems.append(f"{bad} replies whose depth, root or resource does not follow their parent")
    verified = and_(PersonVerification.user_id == ProposalSupport.user_id,
                    PersonVerification.person_key == ProposalSupport.person_key,
                    PersonVerification.revoked_at.is_(None))
    bad = db.session.scalar(select(func.count()).select_from(ProposalSupport).where(
        ProposalSupport.component_id == component_id, ~select(PersonVerification.id).where(verified).exists()))
    if bad:
        problems.append(f"{bad} supports whose person key is not their supporter's active verification")
    locked = and_(ProposalLock.component_id == ProposalSupport.component_id,
                  ProposalLock.key == ProposalSupport.person_key)
    bad = db.session.scalar(select(func.count()).select_from(ProposalSupport).where(
        ProposalSupport.component_id == component_id, ~select(ProposalLock.key).where(locked).exists()))
    if bad:
        problems.append(f"{bad} supports without their person's lock row")
    prefix = reference_prefix(org)
    n_proposals = 0
    for pid, ref, created, published in db.session.execute(select(
            Proposal.id, Proposal.reference, Proposal.created_at, Proposal.published_at).where(in_component)):
        n_proposals += 1
        if published is None or ref != f"{prefix}-PROP-{created.year:04d}-{created.month:02d}-{pid}":
            problems.append(f"proposal {pid}: reference {ref!r} or publication missing")
            if len(problems) > 20:
                break
    published = db.session.scalar(select(func.count()).select_from(DecisionRecord).where(
        DecisionRecord.component_id == component_id, DecisionRecord.action == "proposals.proposal.publish")) or 0
    if log and published != n_proposals:
        problems.append(f"{published} publication decisions for {n_proposals} proposals")
    pending = db.session.scalar(select(func.count()).select_from(LogOutbox).where(
        LogOutbox.organization_id == org.id)) or 0
    if log and pending:
        problems.append(f"{pending} decisions still waiting in the log's outbox")
    if problems:
        raise AssertionError("inconsistent seed:\n  " + "\n  ".join(problems))
    return {
        "proposals": n_proposals,
        "supports": db.session.scalar(select(func.count()).select_from(ProposalSupport).where(
            ProposalSupport.component_id == component_id)) or 0,
        "comments": db.session.scalar(select(func.count()).select_from(Comment).where(mine)) or 0,
        "people": db.session.scalar(select(func.count(func.distinct(Proposal.author_id))).where(in_component)) or 0,
    }


# --- the whole seeding ----------------------------------------------------------------------------


def find_component(org_id: int, slug: str = PROCESS_SLUG) -> Any:
    from sqlalchemy import select

    from decidim_py.components import Component
    from decidim_py.db import db
    from processes.models import Process

    process = db.session.scalar(select(Process).where(Process.organization_id == org_id, Process.slug == slug))
    if process is None:
        return None
    return db.session.scalar(select(Component).where(
        Component.space_id == process.id, Component.manifest_name == "proposals").order_by(Component.id))


def seed(database_url: str, proposals: int, *, mode: str = "auto", hot_comments: int = 300,
         random_seed: int = 1, migrate: bool = True) -> dict[str, Any]:
    """Migrate and seed; returns where the component is and what was written."""
    from decidim_py.db import db, utcnow
    from decidim_py.demo import seed_demo
    from decidim_py.tenancy import find_organization
    from decidim_py.transparency.log import integrate

    started = time.perf_counter()
    app = make_app(database_url)
    if migrate:
        from decidim_py.migrate import upgrade

        upgrade(app)
    with app.app_context():
        if seed_demo(ORG_HOST):
            db.session.commit()
        org = find_organization(ORG_HOST)
        assert org is not None
        existing = find_component(org.id)
        if existing is not None:
            print(f"already seeded: component {existing.id} in {PROCESS_SLUG}; nothing to do", flush=True)
            return {"component_id": existing.id, "base": f"/processes/{PROCESS_SLUG}/proposals/{existing.id}",
                    **check_consistency(existing.id)}
        component = setup_component(org)
        db.session.commit()
        component_id = component.id
        now = utcnow()
        people = insert_people(org, max(1, proposals // 4), now=now, random_seed=random_seed)
        db.session.commit()
        t0 = time.perf_counter()
        plans = plan_proposals(proposals, len(people), now=now, hot_comments=hot_comments,
                               random_seed=random_seed)
        print(f"{len(people)} verified people; {proposals} proposals planned in {time.perf_counter() - t0:.1f} s",
              flush=True)
        mode = mode if mode != "auto" else ("services" if proposals <= SERVICES_MAX else "bulk")
        t0 = time.perf_counter()
        if mode == "services":
            ids = via_services(component, plans, people)
        else:
            ids = bulk_proposals(org, component, plans, people)
            print(f"  proposals and their decisions {time.perf_counter() - t0:.1f} s", flush=True)
            bulk_supports(component, plans, ids, people)
            print(f"  supports {time.perf_counter() - t0:.1f} s", flush=True)
            bulk_comments(org, component, plans, ids, people)
            db.session.commit()
        written = time.perf_counter() - t0
        print(f"wrote {proposals} proposals ({mode}) in {written:.1f} s", flush=True)
        t0 = time.perf_counter()
        integrate(find_organization(ORG_HOST))
        db.session.commit()  # end the read snapshot taken before the integration (SQLite WAL)
        print(f"log integrated in {time.perf_counter() - t0:.1f} s", flush=True)
        if db.session.get_bind().dialect.name == "postgresql":
            with db.session.get_bind().connect() as conn:  # what autovacuum would do after a bulk load
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        t0 = time.perf_counter()
        totals = check_consistency(component_id)
        db.session.commit()
        print(f"consistent ({time.perf_counter() - t0:.1f} s): {totals['proposals']} proposals, "
              f"{totals['supports']} supports, {totals['comments']} comments by {len(people)} verified people "
              f"({totals['people']} of them authors); {time.perf_counter() - started:.1f} s total", flush=True)
        info = {"component_id": component_id, "base": f"/processes/{PROCESS_SLUG}/proposals/{component_id}",
                "hot_proposal_id": ids[0] if ids else None, "mode": mode, **totals}
    app.extensions["decidim_db"].engine.dispose()
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--proposals", type=int, default=2000, help="how many proposals (default 2000)")
    ap.add_argument("--database-url", default=os.environ.get("DECIDIM_DATABASE_URL"),
                    help="SQLAlchemy URL (default: $DECIDIM_DATABASE_URL)")
    ap.add_argument("--mode", choices=["auto", "services", "bulk"], default="auto",
                    help=f"services up to {SERVICES_MAX} proposals, bulk above (default auto)")
    ap.add_argument("--hot-comments", type=int, default=300, help="comments on the first proposal (default 300)")
    ap.add_argument("--random-seed", type=int, default=1, help="same seed, same data (default 1)")
    ap.add_argument("--no-migrate", action="store_true", help="skip the Alembic upgrade")
    a = ap.parse_args(argv)
    if not a.database_url:
        ap.error("give --database-url or set DECIDIM_DATABASE_URL (the seeder never guesses a database)")
    if a.proposals < 1 or a.hot_comments < 0:
        ap.error("--proposals must be >= 1 and --hot-comments >= 0")
    try:
        seed(a.database_url, a.proposals, mode=a.mode, hot_comments=a.hot_comments, random_seed=a.random_seed,
             migrate=not a.no_migrate)
    except AssertionError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
