"""Pure tests: no database, Redis, network or subprocess (`make test-unit`)."""
