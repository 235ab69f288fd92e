"""Scale seeder: the demo organisation plus N participatory processes, through the real services.

    python bench/seed.py --processes 500 [--database-url URL] [--batch 100] [--random-seed 1]

The database is migrated first (Alembic, head). Then the demo organisation "Ciutat Demo" (host
127.0.0.1, secondary host localhost) is created if missing, with extra hosts and process groups,
and N processes whose slugs start with `bench-`: a mix of active, upcoming and past dates (relative
to today), 3 or 4 phases each with the phase covering today active, most of them run by a host,
some in a group, a few private (with one member) and a few unpublished drafts, titles in ca/es/en.

Every row goes through the same services as the admin screens (create_process, add_step,
activate_step, publish_process, save_group, add_member), so the decision record is filled as in
production. If bench processes are already present the seeder does nothing (exit status 0).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SLUG_PREFIX = "bench-"
ORG_HOST = "127.0.0.1"

T = dict[str, str]


def _t(ca: str, es: str, en: str) -> T:
    return {"ca": ca, "es": es, "en": en}


# Neighbourhoods: proper names, the same in the three languages.
PLACES = [
    "Sants", "Gràcia", "Horta", "Sarrià", "el Raval", "el Poblenou", "la Sagrera", "Nou Barris",
    "Sant Andreu", "les Corts", "el Clot", "la Barceloneta", "el Carmel", "Vallcarca", "Pedralbes",
    "la Verneda", "Sant Martí", "el Besòs", "Montjuïc", "la Marina",
]

# (title, short description) per topic, each with "{p}" for the place.
TOPICS: list[tuple[T, T]] = [
    (_t("Pla de mobilitat de {p}", "Plan de movilidad de {p}", "{p} mobility plan"),
     _t("Com ens movem pel barri els propers anys.", "Cómo nos movemos por el barrio los próximos años.",
        "How we get around the neighbourhood in the coming years.")),
    (_t("Pressupostos participatius de {p}", "Presupuestos participativos de {p}",
        "{p} participatory budget"),
     _t("Decideix en què s'inverteix el pressupost del barri.",
        "Decide en qué se invierte el presupuesto del barrio.",
        "Decide how the neighbourhood budget is spent.")),
    (_t("Renovació de la plaça de {p}", "Renovación de la plaza de {p}", "{p} square renovation"),
     _t("Els veïns trien el nou disseny de la plaça.", "Los vecinos eligen el nuevo diseño de la plaza.",
        "Residents choose the new design of the square.")),
    (_t("Pla d'equipaments de {p}", "Plan de equipamientos de {p}", "{p} public facilities plan"),
     _t("Quins equipaments necessita el barri i on.", "Qué equipamientos necesita el barrio y dónde.",
        "Which facilities the neighbourhood needs, and where.")),
    (_t("Verd urbà a {p}", "Verde urbano en {p}", "Urban greenery in {p}"),
     _t("Arbres, horts i zones d'ombra per a l'estiu.", "Árboles, huertos y zonas de sombra para el verano.",
        "Trees, gardens and shade for the summer.")),
    (_t("Habitatge a {p}", "Vivienda en {p}", "Housing in {p}"),
     _t("Propostes per a un habitatge assequible.", "Propuestas para una vivienda asequible.",
        "Proposals for affordable housing.")),
    (_t("Festa major de {p}", "Fiesta mayor de {p}", "{p} neighbourhood festival"),
     _t("Organitzem plegats el programa de la festa.", "Organizamos juntos el programa de la fiesta.",
        "Let's put the festival programme together.")),
    (_t("Camins escolars de {p}", "Caminos escolares de {p}", "{p} safe routes to school"),
     _t("Recorreguts segurs per anar a l'escola a peu.", "Recorridos seguros para ir a la escuela a pie.",
        "Safe routes for walking to school.")),
]

PHASES: list[T] = [
    _t("Diagnosi", "Diagnóstico", "Diagnosis"),
    _t("Propostes", "Propuestas", "Proposals"),
    _t("Debat", "Debate", "Debate"),
    _t("Suports", "Apoyos", "Supports"),
    _t("Votació", "Votación", "Voting"),
    _t("Resultats", "Resultados", "Results"),
]

EXTRA_HOSTS: list[tuple[str, T, str]] = [
    (f"districte-{slug}", _t(f"Districte de {name}", f"Distrito de {name}", f"{name} District"), "department")
    for slug, name in [("sants", "Sants"), ("horta", "Horta"), ("sarria", "Sarrià"),
                       ("nou-barris", "Nou Barris"), ("sant-andreu", "Sant Andreu"),
                       ("sant-marti", "Sant Martí")]
] + [
    ("area-urbanisme", _t("Àrea d'Urbanisme", "Área de Urbanismo", "Urban Planning Department"),
     "department"),
    ("area-cultura", _t("Àrea de Cultura", "Área de Cultura", "Culture Department"), "department"),
    ("ampa-vallcarca", _t("AFA de Vallcarca", "AFA de Vallcarca", "Vallcarca Parents' Association"),
     "community"),
    ("veins-poblenou", _t("Veïns del Poblenou", "Vecinos del Poblenou", "Poblenou Residents"), "community"),
]

GROUPS: list[T] = [
    _t("Barris més verds", "Barrios más verdes", "Greener neighbourhoods"),
    _t("Mobilitat sostenible", "Movilidad sostenible", "Sustainable mobility"),
    _t("Pressupostos participatius", "Presupuestos participativos", "Participatory budgets"),
    _t("Cultura als barris", "Cultura en los barrios", "Culture in the neighbourhoods"),
    _t("Habitatge digne", "Vivienda digna", "Decent housing"),
]


@dataclass
class Plan:
    """What one process will look like, drawn before any row is written."""

    slug: str
    title: T
    subtitle: T
    short: T
    start: date
    end: date
    phases: list[tuple[T, date, date]]
    active: int
    host_id: int | None
    group_id: int | None
    private: bool
    promoted: bool
    publish: bool


def plan_process(rng: random.Random, i: int, today: date, host_ids: list[int],
                 group_ids: list[int]) -> Plan:
    title_tpl, short = TOPICS[i % len(TOPICS)]
    place = PLACES[(i // len(TOPICS)) % len(PLACES)]
    length = rng.randint(60, 400)
    kind = rng.choices(["active", "upcoming", "past"], weights=[45, 25, 30])[0]
    if kind == "active":
        start = today - timedelta(days=rng.randint(1, length - 1))
    elif kind == "upcoming":
        start = today + timedelta(days=rng.randint(1, 250))
    else:
        start = today - timedelta(days=length + rng.randint(1, 900))
    end = start + timedelta(days=length)
    title = {k: f"{v.format(p=place)} {start.year}" for k, v in title_tpl.items()}
    n = rng.choice([3, 4])
    names = sorted(rng.sample(range(len(PHASES)), n))
    cuts = [start + timedelta(days=length * k // n) for k in range(n + 1)]
    phases = []
    for k in range(n):
        phase_end = cuts[k + 1] - timedelta(days=1) if k < n - 1 else end
        phases.append((PHASES[names[k]], cuts[k], phase_end))
    if kind == "past":
        active = n - 1
    elif kind == "upcoming":
        active = 0
    else:
        active = next(k for k, (_, s, e) in enumerate(phases) if s <= today <= e)
    return Plan(
        slug=f"{SLUG_PREFIX}{i:05d}",
        title=title,
        subtitle=_t(f"Barri: {place}", f"Barrio: {place}", f"Neighbourhood: {place}"),
        short=short,
        start=start,
        end=end,
        phases=phases,
        active=active,
        host_id=rng.choice(host_ids) if host_ids and rng.random() < 0.7 else None,
        group_id=rng.choice(group_ids) if group_ids and rng.random() < 0.25 else None,
        private=rng.random() < 0.03,
        promoted=rng.random() < 0.02,
        publish=rng.random() >= 0.02,
    )


def make_app(database_url: str) -> Any:
    from decidim_py import create_app

    return create_app({
        "DATABASE_URL": database_url,
        # Never write a secret into the repository's instance folder for a throw-away database.
        "SECRET_KEY": os.environ.get("DECIDIM_SECRET_KEY") or secrets.token_urlsafe(32),
    })


def seed(database_url: str, processes: int, *, batch: int = 100, random_seed: int = 1,
         migrate: bool = True) -> int:
    """Migrate and seed; returns the number of processes created (0 when already seeded)."""
    from sqlalchemy import func, select

    from decidim_py.accounts.models import Host, HostKind, User
    from decidim_py.accounts.system import SystemActor
    from decidim_py.db import db
    from decidim_py.demo import seed_demo
    from decidim_py.tenancy import find_organization
    from processes import services as ps
    from processes.models import Process
    from processes.queries import today_in
    from processes.services import ProcessData, StepData

    started = time.perf_counter()
    app = make_app(database_url)
    if migrate:
        from decidim_py.migrate import upgrade

        upgrade(app)
        print(f"migrated ({time.perf_counter() - started:.1f} s)", flush=True)

    with app.app_context():
        session = db.session
        if seed_demo(ORG_HOST):
            session.commit()
            print("demo organisation seeded", flush=True)
        org = find_organization(ORG_HOST)
        assert org is not None
        existing = session.scalar(
            select(func.count()).select_from(Process).where(
                Process.organization_id == org.id, Process.slug.startswith(SLUG_PREFIX)
            )
        ) or 0
        if existing:
            print(f"already seeded: {existing} {SLUG_PREFIX}* processes present; nothing to do", flush=True)
            return 0

        system = SystemActor(org.id)
        for slug, name, kind in EXTRA_HOSTS:
            session.add(Host(organization_id=org.id, slug=slug, name=name, kind=HostKind(kind)))
        session.flush()
        host_ids = list(session.scalars(select(Host.id).where(Host.organization_id == org.id)))
        group_ids = [
            ps.save_group(system, org, title, _t("<p>Processos relacionats.</p>",
                                                 "<p>Procesos relacionados.</p>",
                                                 "<p>Related processes.</p>")).id
            for title in GROUPS
        ]
        session.commit()

        def demo_member() -> Any:
            return session.scalar(select(User).where(User.organization_id == org.id, User.nickname == "pere"))

        member = demo_member()

        rng = random.Random(random_seed)
        today = today_in(org)
        stats = {"active": 0, "upcoming": 0, "past": 0, "private": 0, "draft": 0, "phases": 0}
        t0 = time.perf_counter()
        for i in range(processes):
            plan = plan_process(rng, i, today, host_ids, group_ids)
            process = ps.create_process(system, org, ProcessData(
                slug=plan.slug, title=plan.title, subtitle=plan.subtitle, short_description=plan.short,
                description={k: f"<p>{v}</p>" for k, v in plan.short.items()},
                start_date=plan.start, end_date=plan.end, is_promoted=plan.promoted,
                is_private=plan.private, host_id=plan.host_id, group_id=plan.group_id,
            ))
            steps = [ps.add_step(system, process, StepData(title=t, start_date=s, end_date=e))
                     for t, s, e in plan.phases]
            if plan.active:
                ps.activate_step(system, steps[plan.active])
            if plan.private and member is not None:
                ps.add_member(system, process, member)
            if plan.publish:
                ps.publish_process(system, process)
            stats[process.time_status(today).value] += 1
            stats["private"] += plan.private
            stats["draft"] += not plan.publish
            stats["phases"] += len(steps)
            if (i + 1) % batch == 0 or i + 1 == processes:
                session.commit()
                session.expunge_all()  # keep the identity map small
                org = find_organization(ORG_HOST)
                assert org is not None
                member = demo_member()
                elapsed = time.perf_counter() - t0
                print(f"  {i + 1:>6}/{processes} processes  {elapsed:7.1f} s  "
                      f"({(i + 1) / elapsed:.0f}/s)", flush=True)
        print(
            f"seeded {processes} processes ({stats['active']} active, {stats['upcoming']} upcoming, "
            f"{stats['past']} past; {stats['private']} private, {stats['draft']} unpublished; "
            f"{stats['phases']} phases; {len(host_ids)} hosts, {len(group_ids) + 1} groups) "
            f"in {time.perf_counter() - started:.1f} s total",
            flush=True,
        )
    return processes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=500, help="how many processes (default 500)")
    ap.add_argument("--database-url", default=os.environ.get("DECIDIM_DATABASE_URL"),
                    help="SQLAlchemy URL (default: $DECIDIM_DATABASE_URL)")
    ap.add_argument("--batch", type=int, default=100, help="commit every N processes (default 100)")
    ap.add_argument("--random-seed", type=int, default=1, help="same seed, same data (default 1)")
    ap.add_argument("--no-migrate", action="store_true", help="skip the Alembic upgrade")
    a = ap.parse_args(argv)
    if not a.database_url:
        ap.error("give --database-url or set DECIDIM_DATABASE_URL (the seeder never guesses a database)")
    if a.processes < 0 or a.batch < 1:
        ap.error("--processes must be >= 0 and --batch >= 1")
    seed(a.database_url, a.processes, batch=a.batch, random_seed=a.random_seed, migrate=not a.no_migrate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
