# Two commands for a newcomer: `make run` and `make test`. Both build .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-unit lint bench chaos venv clean chromium compose promtool

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing orderhub and its dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet -e '.[embedded,dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/orderhub dev

# The console's browser tests drive the Debian package chromium (Playwright's own browser
# download is never used); as root with apt-get it is installed when missing, else those
# tests are skipped and say so.
# The alert rules' tests run promtool, from the Debian package prometheus; installed the same
# way when missing (only promtool is used), else they are skipped.
test: $(STAMP) chromium compose promtool
	$(BIN)/python -m pytest $(PYTEST_ARGS)

chromium:
	@command -v /usr/bin/chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 \
		|| { echo "test: installing chromium with apt-get ..."; \
		     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
		     || { apt-get update -qq >/dev/null 2>&1 \
		          && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } \
		     || echo "test: could not install chromium; the console's browser tests are skipped"; }

# deploy/compose.yaml is read by `docker compose config` (no Docker daemon needed) when the
# plugin answers, else by the Debian package docker-compose, installed as root when missing;
# with neither, that test is skipped and says so.
compose:
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 \
		|| [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 \
		|| { echo "test: installing docker-compose with apt-get ..."; \
		     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null 2>&1 \
		     || { apt-get update -qq >/dev/null 2>&1 \
		          && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null 2>&1; } \
		     || echo "test: could not install docker-compose; the compose config test is skipped"; }

promtool:
	@command -v promtool >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 \
		|| { echo "test: installing promtool (Debian package prometheus) with apt-get ..."; \
		     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
		     || { apt-get update -qq >/dev/null 2>&1 \
		          && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; } \
		     || echo "test: could not install promtool; the alert rules' tests are skipped"; }

# The pure tests only (tests/unit): no server, a few seconds.
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app workers tests bench
	$(BIN)/ruff format --check app workers tests bench
	$(BIN)/mypy app workers
	$(BIN)/lint-imports

# wrk is the cheapest load generator; as root with apt-get it is installed when missing, else
# bench/ falls back to a Python one and says so. Knobs: see bench/README.md.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 \
		|| { echo "bench: installing wrk with apt-get ..."; \
		     apt-get install -y -qq wrk >/dev/null 2>&1 \
		     || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; } \
		     || echo "bench: could not install wrk; using the Python load generator"; }
	$(BIN)/python -m bench

# The fault suite on servers and processes of its own, a few minutes; see docs/operations.md.
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
