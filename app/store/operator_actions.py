"""The operator_action table: who did what to which inbound entry or order, and when.

Written in the transaction of the action itself, so an action that rolled back leaves no
line and every change an operator made has one.
"""

from __future__ import annotations

from typing import Any

from app.store.db import Connection

RECORD = "INSERT INTO operator_action (subject, action, actor, detail) VALUES ($1, $2, $3, $4)"
OF_SUBJECTS = """
SELECT id, subject, action, actor, detail, created_at FROM operator_action
 WHERE subject = ANY($1) ORDER BY subject, created_at DESC, id DESC
"""


async def record(
    conn: Connection, subject: str, action: str, actor: str, detail: dict[str, Any]
) -> None:
    await conn.execute(RECORD, subject, action, actor, detail)


async def of_subjects(conn: Connection, subjects: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each subject's actions, newest first (index operator_action_subject)."""
    found: dict[str, list[dict[str, Any]]] = {s: [] for s in subjects}
    for row in await conn.fetch(OF_SUBJECTS, subjects):
        found[row["subject"]].append(dict(row))
    return found
