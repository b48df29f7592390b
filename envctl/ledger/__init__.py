"""The ledger written: assignment tags made exactly once and shared.

`write` decides and writes one event under `lock` and publishes it with what it
rests on (`sharing`), `sync` repairs local numbering against the remote, `trust`
verifies signed stages. The ledger never imports the gates: it records their
results (`registry.results`) as data.
"""
