"""The migration files themselves (app/store/migrations): read, not applied."""

from __future__ import annotations

from app.store import schema


def test_migrations_are_numbered_from_one_without_a_gap() -> None:
    versions = [m.version for m in schema.migrations()]
    assert versions == list(range(1, len(versions) + 1))
    assert versions[0] == 1 and schema.migrations()[0].name == "baseline"
