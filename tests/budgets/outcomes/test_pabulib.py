"""The Pabulib format: every fixture parses (and fast), every problem of a bad file is reported with its
line, write() round-trips, decimal costs are scaled exactly."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgets.outcomes import compute
from budgets.outcomes.pabulib import PabulibError, parse, to_election, write

from .conftest import DATA, expected, parsed, pb_text

NAMES = sorted(name for name in expected() if name != "_meta")


@pytest.mark.parametrize("name", NAMES)
def test_every_fixture_parses_and_matches_its_facts(name: str) -> None:
    facts = expected()[name]["_instance"]
    pb, election = parsed(name)
    assert len(pb.projects) == facts["num_projects"]
    assert len(pb.votes) == facts["num_votes"]
    assert election.vote_type == facts["vote_type"]
    assert len(election.ballots) == facts["num_votes"]


def test_large_file_parses_quickly() -> None:
    text = pb_text("Poland_Warszawa_2026.pb")
    start = time.perf_counter()
    pb = parse(text)
    elapsed = time.perf_counter() - start
    assert len(pb.votes) == 61668
    assert elapsed < 10, f"parse took {elapsed:.2f} s"


BAD = """META
key;value
num_projects;3
vote_type;cumulative
max_length;2
max_sum_points;5
PROJECTS
project_id;cost;name
a;100;A
b;-5;B
a;7;A again
c;1x;C
VOTES
voter_id;vote;points
1;a,b;2,3
2;a,zz;1,1
3;a;1,2
4;a,b,c;1,1,1
1;b;9
5;a
"""


def test_every_problem_is_reported_with_its_line() -> None:
    with pytest.raises(PabulibError) as info:
        parse(BAD)
    errors = info.value.errors
    lines = {n for n, _ in errors}
    text = "\n".join(f"{n}: {m}" for n, m in errors)
    assert "META has no budget" in text
    assert any(n == 10 and "bad cost" in m for n, m in errors)  # b;-5
    assert any(n == 11 and "appears twice" in m for n, m in errors)  # a again
    assert any(n == 12 and "bad cost" in m for n, m in errors)  # 1x
    assert any(n == 16 and "unknown project" in m and "zz" in m for n, m in errors)
    assert any(n == 17 and "2 points for 1" in m for n, m in errors)
    assert any(n == 18 and "max_length" in m for n, m in errors)
    assert any(n == 19 and "voter '1' appears twice" in m for n, m in errors)
    assert any(n == 19 and "max_sum_points" in m for n, m in errors)
    assert any(n == 20 and "2 fields" in m for n, m in errors)
    assert 15 not in lines  # the good vote
    assert len(errors) >= 10


def test_missing_sections_and_headers() -> None:
    with pytest.raises(PabulibError) as info:
        parse("META\nkey;value\nbudget;10\nvote_type;approval\nPROJECTS\nid;cost\n")
    text = str(info.value)
    assert "no 'project_id' column" in text
    assert "the VOTES section is missing" in text


def test_decimal_costs_are_scaled_exactly() -> None:
    _, election = parsed("Poland_Krakow_2023_Nowa_Huta.pb")
    assert election.scale == 100
    assert election.budget == 245848822
    assert all(isinstance(p.cost, int) for p in election.projects)


ids = st.text(alphabet="abcxyz0123456789/._-", min_size=1, max_size=8)
values = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=12).map(str.strip)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(ids, min_size=1, max_size=6, unique=True),
    st.lists(st.decimals(min_value="0.01", max_value="99999", places=2), min_size=6, max_size=6),
    st.lists(values, min_size=6, max_size=6),
    st.lists(st.lists(st.integers(0, 5), max_size=4), max_size=8),
)
def test_write_round_trips(pids, costs, names, picks) -> None:
    meta = {"description": 'round trip; with "quotes"', "budget": "1000.5", "vote_type": "approval"}
    projects = {pid: {"project_id": pid, "cost": str(costs[i]), "name": names[i]} for i, pid in enumerate(pids)}
    votes = []
    for n, pick in enumerate(picks):
        chosen = list(dict.fromkeys(pids[i % len(pids)] for i in pick))
        votes.append({"voter_id": f"v{n}", "vote": ",".join(chosen), "note": names[n % 6]})
    text = write(meta, projects, votes)
    back = parse(text)
    assert back.meta == meta
    assert back.projects == projects
    assert back.votes == votes
    assert parse(write(back.meta, back.projects, back.votes)) == back


def test_a_fixture_round_trips_with_the_same_outcome() -> None:
    pb = parse(pb_text("Poland_Wieliczka_2023_Green_Budget.pb"))
    again = parse(write(pb.meta, pb.projects, pb.votes))
    assert again == pb
    a = compute(to_election(pb), "mes", {})
    b = compute(to_election(again), "mes", {})
    assert a.winners == b.winners


def test_fixtures_are_gzip_copies() -> None:
    assert sorted(p.name for p in DATA.glob("*.pb.gz")) == [f"{n}.gz" for n in NAMES]
