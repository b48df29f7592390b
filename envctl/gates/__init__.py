"""Gates: what a model version must pass to enter a stage, and how they run.

`checks` holds the pure verdicts (metric thresholds and baselines, approval
counting, the http answer check, pytest summaries), `runners` the gates that run
in the model's image (tests, http, command), `suite` a stage's gates in order,
`compat` the always-on compatibility gate, `placement` the engine a stage's
gates run on (its `runner:`, whether it gives the stage's GPUs), `live` the
stage's checks against the running service (check-live), `events` what a suite
reports while it runs.
Gates never import the ledger: what they produce (`registry.results`) is what
the ledger records.
"""
