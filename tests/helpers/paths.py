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
# TM Forum's TMF641 v4.1.0 swagger (Apache 2.0, its LICENSE beside it): the standard flavour's
# answers are validated against its definitions.
TMF641_SWAGGER = TESTS / "fixtures" / "tmf641" / "TMF641-ServiceOrdering-v4.1.0.swagger.json"
