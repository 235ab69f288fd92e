"""Helpers for migrations: database-enforced append-only tables (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import op


def create_append_only_triggers(table: str) -> None:
    """Refuse UPDATE and DELETE on `table`, whoever connects (the application or an operator)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"append-only triggers not implemented for {dialect}")


def drop_append_only_triggers(table: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")


def create_grow_only_triggers(table: str, column: str) -> None:
    """Allow an UPDATE of `table` only when the new `column` value extends the old one (a partial
    tile growing into a full one); refuse DELETE."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            f"CREATE TRIGGER {table}_grow_only BEFORE UPDATE ON {table} "
            f"WHEN substr(NEW.{column}, 1, length(OLD.{column})) IS NOT OLD.{column} "
            f"OR length(NEW.{column}) < length(OLD.{column}) "
            f"OR NEW.id IS NOT OLD.id OR NEW.organization_id IS NOT OLD.organization_id "
            f"OR NEW.level IS NOT OLD.level OR NEW.\"index\" IS NOT OLD.\"index\" "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows may only grow'); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
    elif dialect == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_grow_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{table} is append-only'; END IF; "
            f"IF length(NEW.{column}) < length(OLD.{column}) "
            f"OR substring(NEW.{column} from 1 for length(OLD.{column})) <> OLD.{column} "
            f"OR NEW.id <> OLD.id OR NEW.organization_id <> OLD.organization_id "
            f"OR NEW.level <> OLD.level OR NEW.\"index\" <> OLD.\"index\" THEN "
            f"RAISE EXCEPTION '{table} rows may only grow'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_grow_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_grow_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_grow_only()"
        )
    else:  # pragma: no cover
        raise RuntimeError(f"grow-only triggers not implemented for {dialect}")


def drop_grow_only_triggers(table: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_grow_only")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_grow_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_grow_only()")
