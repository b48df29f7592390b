"""Gated promotion: the orchestration of gates (`envctl.gates`) and ledger (`envctl.ledger`).

`flow` takes one version into one stage (promote) and `advance` through several,
`rules` the stage-order rule and the default version, `policy` a stage's soak,
windows and freezes, `handoff` the image the previous stage tested, `rollback`
re-assigns the previous version, `outcome` what a promotion reports.
"""
