"""Gated promotion: the target and its rules, the flow, gates and their runners, the ledger.

`rules` holds the target and the stage-order rule (pure), `flow` takes one
version into one stage (promote) and `advance` through several, `gates` the
gates that need no image (metrics, approvals, champion/challenger), `runners`
those that run in the model's image (tests, http, command), `suite` runs a
stage's gates in order, `policy` evaluates a stage's soak, windows and freezes,
`handoff` finds the image the previous stage tested, `compat` is the
compatibility gate, `ledger` writes the assignment tag under `lock` and
publishes it with what it rests on (`sharing`, `sync`), `trust` verifies signed
events, `workspace` finds the registry and resolves names in it.
"""
