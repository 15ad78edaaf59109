"""Where the repository's files are that the tests read."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS.parent
DEMO_CATALOG = REPO_ROOT / "app" / "demo" / "catalog.json"
OPENAPI_DOCUMENT = REPO_ROOT / "app" / "openapi.json"
SCHEMA_SQL = REPO_ROOT / "schema.sql"
ALERT_RULES = REPO_ROOT / "deploy" / "alerts.yaml"
ALERT_RULES_TESTS = REPO_ROOT / "deploy" / "alerts_test.yaml"
# The seed's cURL examples (bench/ reads them too).
SEED_EXAMPLES = TESTS / "seed_examples"
SCHEMA_BEFORE_MIGRATIONS = TESTS / "fixtures" / "schema_before_migrations.sql"
DEPLOY = REPO_ROOT / "deploy"
