"""Gated promotion: the target and its rules, gates and their runners, the suite, the ledger.

`rules` holds the target and the stage-order rule (pure), `gates` the gate
results and the gates that need no image (metrics, approvals), `runners` those
that run in the model's image (tests, http, command), `suite` runs a stage's
gates in order and returns their results, `ledger` writes the assignment tag,
`outcome` is what a promotion came to and its JSON document, `compat` is the
compatibility gate, `workspace` finds the registry and resolves names in it.
"""
