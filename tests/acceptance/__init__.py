"""Real OrderHub processes (API, worker, stub, dev) started as subprocesses, end to end."""
