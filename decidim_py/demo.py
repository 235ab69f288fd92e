"""Demo data: the organisation "Ciutat Demo" with hosts, people, processes and phases.

Everything is created through the same services as the admin screens, so the demo's decision
record is real. Dates are relative to today, so the demo always has active, upcoming and past
processes.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from .accounts.models import Host, HostKind, HostRole, SpaceRoleName, User
from .accounts.roles import add_host_member, grant_space_role, set_organization_admin
from .accounts.system import SystemActor
from .db import db
from .spaces import space_type
from .tenancy import Organization, create_organization

PEOPLE = [
    ("admin", "Anna Puig", "ca"),
    ("jordi", "Jordi Serra", "ca"),
    ("marta", "Marta Vidal", "es"),
    ("pere", "Pere Soler", "ca"),
    ("lucia", "Lucía Gómez", "es"),
    ("sam", "Sam Taylor", "en"),
]


def _t(ca: str, es: str, en: str) -> dict[str, str]:
    return {"ca": ca, "es": es, "en": en}


def seed_demo(host: str = "127.0.0.1") -> bool:
    """Create the demo organisation unless it exists. Returns True when it created it."""
    if db.session.scalar(select(Organization).where(Organization.host == host)) is not None:
        return False
    secondary = ["localhost"] if host == "127.0.0.1" else []
    org = create_organization(
        name="Ciutat Demo", host=host, secondary_hosts=secondary, default_locale="ca",
        available_locales=["ca", "es", "en"], time_zone="Europe/Madrid",
    )
    system = SystemActor(org.id)
    from .identity.services import save_residence

    save_residence(system, org, [f"080{n:02d}" for n in range(1, 43)], {
        "ciutat-vella": {"name": _t("Ciutat Vella", "Ciutat Vella", "Ciutat Vella"),
                         "postal_codes": ["08001", "08002", "08003"]},
        "gracia": {"name": _t("Gràcia", "Gràcia", "Gràcia"), "postal_codes": ["08012", "08024", "08025"]},
    })
    users = {}
    for nickname, name, locale in PEOPLE:
        users[nickname] = User(organization_id=org.id, nickname=nickname, name=name, locale=locale)
        db.session.add(users[nickname])
    db.session.flush()
    set_organization_admin(None, users["admin"], True)

    gracia = Host(organization_id=org.id, slug="districte-gracia", kind=HostKind.DEPARTMENT,
                  name=_t("Districte de Gràcia", "Distrito de Gràcia", "Gràcia District"))
    raval = Host(organization_id=org.id, slug="veins-raval", kind=HostKind.COMMUNITY,
                 name=_t("Associació de Veïns del Raval", "Asociación de Vecinos del Raval",
                         "Raval Residents' Association"))
    db.session.add_all([gracia, raval])
    db.session.flush()
    add_host_member(system, gracia, users["jordi"], HostRole.ADMIN)
    add_host_member(system, raval, users["marta"], HostRole.ADMIN)
    add_host_member(system, raval, users["lucia"], HostRole.MEMBER)

    from processes import services as ps
    from processes.services import ProcessData, StepData

    group = ps.save_group(
        system, org, _t("Pla d'Actuació Municipal", "Plan de Actuación Municipal",
                        "Municipal Action Plan"),
        _t("<p>Els processos que concreten el pla de govern.</p>",
           "<p>Los procesos que concretan el plan de gobierno.</p>",
           "<p>The processes that put the government plan into practice.</p>"),
    )
    today = date.today()

    def make(slug: str, title: dict[str, str], subtitle: dict[str, str], short: dict[str, str],
             start: date, end: date, steps: list[tuple[dict[str, str], date, date]], *,
             active: int = 0, host_id: int | None = None, promoted: bool = False,
             private: bool = False, publish: bool = True, group_id: int | None = None):  # type: ignore[no-untyped-def]
        process = ps.create_process(system, org, ProcessData(
            slug=slug, title=title, subtitle=subtitle, short_description=short,
            description={k: f"<p>{v}</p>" for k, v in short.items()},
            start_date=start, end_date=end, is_promoted=promoted, is_private=private,
            host_id=host_id, group_id=group_id,
        ))
        made = [ps.add_step(system, process, StepData(title=t, start_date=s, end_date=e))
                for t, s, e in steps]
        if active:
            ps.activate_step(system, made[active])
        if publish:
            ps.publish_process(system, process)
        return process

    d = timedelta
    make(
        "pressupostos-2027",
        _t("Pressupostos participatius 2027", "Presupuestos participativos 2027",
           "Participatory budgets 2027"),
        _t("Decideix com s'inverteixen 5 milions d'euros",
           "Decide cómo se invierten 5 millones de euros", "Decide how 5 million euros are spent"),
        _t("Proposa projectes per als barris, dona suport als que t'agradin i vota.",
           "Propón proyectos para los barrios, apoya los que te gusten y vota.",
           "Propose projects for the neighbourhoods, support the ones you like and vote."),
        today - d(30), today + d(120),
        [(_t("Propostes", "Propuestas", "Proposals"), today - d(30), today - d(1)),
         (_t("Suports", "Apoyos", "Supports"), today, today + d(40)),
         (_t("Votació", "Votación", "Voting"), today + d(41), today + d(100)),
         (_t("Resultats", "Resultados", "Results"), today + d(101), today + d(120))],
        active=1, promoted=True, group_id=group.id,
    )
    make(
        "mobilitat-gracia",
        _t("Pla de mobilitat de Gràcia", "Plan de movilidad de Gràcia", "Gràcia mobility plan"),
        _t("Carrers per a les persones", "Calles para las personas", "Streets for people"),
        _t("Com ens movem pel districte els propers deu anys.",
           "Cómo nos movemos por el distrito los próximos diez años.",
           "How we get around the district over the next ten years."),
        today + d(20), today + d(200),
        [(_t("Diagnosi", "Diagnóstico", "Diagnosis"), today + d(20), today + d(60)),
         (_t("Debat", "Debate", "Debate"), today + d(61), today + d(200))],
        host_id=gracia.id, group_id=group.id,
    )
    make(
        "placa-raval",
        _t("Renovació de la plaça del Raval", "Renovación de la plaza del Raval",
           "Raval square renovation"),
        _t("Procés veïnal", "Proceso vecinal", "A residents' process"),
        _t("Els veïns van decidir el nou disseny de la plaça.",
           "Los vecinos decidieron el nuevo diseño de la plaza.",
           "Residents chose the new design of the square."),
        today - d(400), today - d(100),
        [(_t("Idees", "Ideas", "Ideas"), today - d(400), today - d(250)),
         (_t("Conclusions", "Conclusiones", "Conclusions"), today - d(249), today - d(100))],
        active=1, host_id=raval.id,
    )
    children = make(
        "consell-infants",
        _t("Consell d'infants", "Consejo de la infancia", "Children's council"),
        _t("Només per als membres del consell", "Solo para los miembros del consejo",
           "For council members only"),
        _t("L'espai de treball del consell d'infants de la ciutat.",
           "El espacio de trabajo del consejo de la infancia de la ciudad.",
           "The working space of the city's children's council."),
        today - d(10), today + d(300),
        [(_t("Sessions", "Sesiones", "Sessions"), today - d(10), today + d(300))],
        private=True,
    )
    ps.add_member(system, children, users["pere"])
    make(
        "esborrany-cultura",
        _t("Pla de cultura (esborrany)", "Plan de cultura (borrador)", "Culture plan (draft)"),
        {}, _t("Encara en preparació.", "Todavía en preparación.", "Still being prepared."),
        today + d(90), today + d(300),
        [(_t("Preparació", "Preparación", "Preparation"), today + d(90), today + d(300))],
        publish=False,
    )
    budgets = space_type("processes").find_by_slug(org.id, "pressupostos-2027")
    grant_space_role(system, budgets, users["sam"], SpaceRoleName.MODERATOR)
    _demo_proposals(system, budgets, users)
    _demo_budgets(system, budgets)
    return True


def _demo_budgets(system: SystemActor, process: object) -> None:
    """A budgets component in the budgets process, votable in the active phase: a city-wide budget
    and one for the residents of Gràcia (workflow "zone"), outcome rules
    declared before the component is published."""
    from .components import _registry, add_component, publish_component, update_component

    if "budgets" not in _registry:
        return
    from budgets.services import BudgetData, ProjectData, create_budget, create_project, set_outcome_rule

    component = add_component(system, process, "budgets", _t("Pressupostos", "Presupuestos", "Budgets"))
    steps = process.steps  # type: ignore[attr-defined]
    update_component(system, component, global_values={"workflow": "zone"}, step_values={
        steps[0].id: {"votes": "disabled"}, steps[1].id: {"votes": "enabled", "show_votes": True},
        steps[2].id: {"votes": "enabled"}, steps[3].id: {"votes": "finished", "show_votes": True}})
    city = create_budget(system, component, BudgetData(
        title=_t("Tota la ciutat", "Toda la ciudad", "The whole city"), total_amount=100_000_000,
        description=_t("<p>Projectes per a tota la ciutat.</p>", "<p>Proyectos para toda la ciudad.</p>",
                       "<p>Projects for the whole city.</p>")))
    set_outcome_rule(system, city, "mes_add1", {"completion": "greedy"}, ["lowest_cost", "most_votes", "lot"])
    for title, cost, address in [
        (_t("Cent arbres nous al parc", "Cien árboles nuevos en el parque", "A hundred new trees in the park"),
         30_000_000, "Parc de la Ciutadella"),
        (_t("Carril bici a la Gran Via", "Carril bici en la Gran Via", "A bike lane on the Gran Via"),
         45_000_000, "Gran Via"),
        (_t("Fonts als patis d'escola", "Fuentes en los patios escolares", "Fountains in school playgrounds"),
         12_000_000, None),
        (_t("Biblioteca oberta els diumenges", "Biblioteca abierta los domingos", "The library open on Sundays"),
         20_000_000, None),
    ]:
        create_project(system, city, ProjectData(title=title, cost=cost, address=address))
    gracia = create_budget(system, component, BudgetData(
        title=_t("Gràcia", "Gràcia", "Gràcia"), total_amount=20_000_000, zone="gracia", weight=1))
    set_outcome_rule(system, gracia, "greedy", {}, ["lowest_cost", "lot"])
    for title, cost in [
        (_t("Bancs a la plaça del Sol", "Bancos en la plaza del Sol", "Benches in Plaça del Sol"), 4_000_000),
        (_t("Zona de jocs als Jardinets", "Zona de juegos en los Jardinets", "A playground in the Jardinets"),
         9_000_000),
        (_t("Pacificar el carrer Verdi", "Pacificar la calle Verdi", "A calmer Carrer Verdi"), 12_000_000),
    ]:
        create_project(system, gracia, ProjectData(title=title, cost=cost))
    publish_component(system, component)


def _demo_proposals(system: SystemActor, process: object, users: dict[str, User]) -> None:
    """A proposals component in the budgets process: proposals in phase 1, supports in phase 2."""
    from .components import _registry, add_component, publish_component, update_component

    if "proposals" not in _registry:
        return
    from proposals.services import ProposalData, create_proposal, publish_proposal

    component = add_component(system, process, "proposals", _t("Propostes", "Propuestas", "Proposals"))
    steps = process.steps  # type: ignore[attr-defined]
    update_component(system, component, global_values={"vote_limit": 5, "amendments_enabled": True}, step_values={
        steps[0].id: {"creation_enabled": True, "endorsements_enabled": True},
        steps[1].id: {"creation_enabled": True, "votes_enabled": True, "endorsements_enabled": True},
    })
    publish_component(system, component)
    ideas = [
        ("pere", "Més arbres al parc de la Ciutadella", "Plantar cent arbres nous per fer ombra als camins del parc."),
        ("lucia", "Carril bici segregat a la Gran Via", "Un carril bici separat del trànsit entre la plaça i el mar."),
        ("sam", "Fonts d'aigua potable als patis d'escola",
         "Instal·lar fonts accessibles a tots els patis oberts al barri."),
    ]
    published = []
    for nickname, title, body in ideas:
        proposal = create_proposal(users[nickname], component, ProposalData(title=title, body=body))
        published.append(publish_proposal(users[nickname], proposal))
    _demo_engagement(published, users)


def _demo_engagement(proposals: list[object], users: dict[str, User]) -> None:
    """Lucia endorses the trees proposal, as herself and for her neighbours' association; Sam
    proposes an amendment of the bike lane, waiting for Lucia's answer."""
    from proposals.amendments import create_amendment, publish_amendment
    from proposals.endorsements import endorse_proposal
    from proposals.services import ProposalData

    trees, bike_lane = proposals[0], proposals[1]
    raval = db.session.scalar(select(Host).where(Host.organization_id == trees.organization_id,  # type: ignore[attr-defined]
                                                 Host.slug == "veins-raval"))
    endorse_proposal(users["lucia"], trees, show_name=True)
    endorse_proposal(users["lucia"], trees, host=raval)
    emendation = create_amendment(users["sam"], bike_lane, ProposalData(
        title="Carril bici segregat a la Gran Via i a la Meridiana",
        body="Un carril bici separat del trànsit entre la plaça i el mar, i un altre a la Meridiana."))
    publish_amendment(users["sam"], emendation)
