"""The embedded PostgreSQL's settings: durable commits, and no zero-filling of new WAL files."""

from __future__ import annotations

import os

import asyncpg
import pytest


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="an external server's settings")
async def test_the_embedded_server_commits_durably_without_zero_filling_wal(
    postgres_admin_url: str,
) -> None:
    conn = await asyncpg.connect(postgres_admin_url)
    try:
        settings = dict(
            await conn.fetch(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync', 'synchronous_commit', 'wal_init_zero')"
            )
        )
    finally:
        await conn.close()
    assert settings == {"fsync": "on", "synchronous_commit": "on", "wal_init_zero": "off"}
