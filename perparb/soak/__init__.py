"""The soak harness behind `perparb soak` (issue #18): many accounts trading one simulator at once, under a seeded
chaos schedule of venue and process faults, with invariant checks run continuously and at the end.

Modules:
    plan.py         `SoakPlan` (accounts, simulated hours, seed, venues, speed), each account's strategy config,
                    and the seeded chaos schedule (`chaos_schedule`): the same seed gives the same schedule
    procs.py        the child processes: one `perparb sim`, N `perparb run` runners (restarted when they die),
                    the shared PostgreSQL (embedded by default, DATABASE_URL otherwise) and its restart
    venues.py       the simulator's admin API, venue-neutral: market lookup, faults, marks, funding rates,
                    account provisioning through each venue's paper hooks
    invariants.py   the invariant checks (`check_all`): each returns its violations, counted by name
    harness.py      `run_soak`: set-up, the market driver (funding phases), the chaos loop, the checks, teardown
    report.py       `SoakReport`: text, JSON and the PNG timeline

Nothing here names a venue: the venues come from the registry and the simulator's installed protocols.
"""
