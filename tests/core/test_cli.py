from __future__ import annotations

from sqlalchemy import select

from decidim_py.accounts.models import HostMembership, SpaceRole, User
from decidim_py.db import db
from decidim_py.tenancy import Organization
from decidim_py.transparency import DecisionRecord


def test_org_create_and_list(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["org", "create", "--name", "Vila Nova", "--host", "Vila.Example.Test:8000",
                            "--default-locale", "ca", "--locales", "ca,es", "--time-zone", "Europe/Madrid"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["org", "create", "--name", "Dup", "--host", "vila.example.test"])
    assert r.exit_code != 0 and "already belongs" in r.output
    r = runner.invoke(args=["org", "create", "--name", "Bad", "--host", "b.test", "--time-zone", "Mars/Base"])
    assert r.exit_code != 0 and "time zone" in r.output
    r = runner.invoke(args=["org", "list"])
    assert "vila.example.test" in r.output and "Vila Nova" in r.output and "ca,es" in r.output
    db.session.rollback()
    assert db.session.scalar(select(Organization).where(Organization.host == "vila.example.test"))


def test_user_and_roles_commands_record_decisions(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "seed", "--host", "demo.example.test"]).exit_code == 0
    r = runner.invoke(args=["demo", "seed", "--host", "demo.example.test"])
    assert "already present" in r.output
    r = runner.invoke(args=["user", "create", "--host", "demo.example.test", "--nickname", "nou",
                            "--name", "Nou Veí"])
    assert r.exit_code == 0, r.output
    for args in (["--role", "org-admin"],
                 ["--role", "evaluator", "--process", "pressupostos-2027"],
                 ["--role", "host-admin", "--host-slug", "veins-raval"]):
        r = runner.invoke(args=["roles", "grant", "--host", "demo.example.test", "--nickname", "nou", *args])
        assert r.exit_code == 0, r.output
    r = runner.invoke(args=["roles", "grant", "--host", "demo.example.test", "--nickname", "nou",
                            "--role", "evaluator", "--process", "pressupostos-2027"])
    assert r.exit_code != 0 and "already" in r.output
    r = runner.invoke(args=["roles", "grant", "--host", "demo.example.test", "--nickname", "ghost",
                            "--role", "org-admin"])
    assert r.exit_code != 0
    db.session.rollback()
    nou = db.session.scalar(select(User).where(User.nickname == "nou"))
    assert nou.is_admin
    assert db.session.scalar(select(SpaceRole).where(SpaceRole.user_id == nou.id)).role == "evaluator"
    assert db.session.scalar(select(HostMembership).where(HostMembership.user_id == nou.id)).role == "admin"
    actions = set(db.session.scalars(select(DecisionRecord.action).where(
        DecisionRecord.actor_role == "system")))
    assert {"organization.admin.grant", "spaces.role.grant", "hosts.member.grant",
            "processes.step.activate", "processes.process.publish"} <= actions
    r = runner.invoke(args=["roles", "revoke-admin", "--host", "demo.example.test", "--nickname", "nou"])
    assert r.exit_code == 0


def test_db_upgrade_command_is_idempotent(app):
    r = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert r.exit_code == 0 and "head" in r.output


def test_dev_sign_in_is_off_unless_configured(app, org, client):
    user = User(organization_id=org.id, nickname="pat", name="Pat")
    db.session.add(user)
    db.session.commit()
    assert client.post(f"/dev/sign-in/{user.id}").status_code == 404
    assert "Pat" not in client.get("/sign-in").get_data(as_text=True)
