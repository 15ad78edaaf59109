"""OrderHub's tests, by kind: unit/ (pure), integration/ (the in-process app and the store on
real PostgreSQL and Redis), acceptance/ (real processes). Shared code is in helpers/."""
