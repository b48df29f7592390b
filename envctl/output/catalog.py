"""Every JSON output document by name: what `envctl schema --output NAME` prints,
and what the test keeping docs/reference.md in step with the models reads.
A new document is one line here."""

from __future__ import annotations

from envctl.output import Document, build, diff, errors, promotion, specs, supply

DOCUMENTS: dict[str, type[Document]] = {
    "validate": specs.ValidateDocument,
    "show": specs.ShowDocument,
    "list": specs.ListDocument,
    "check": specs.CheckDocument,
    "import": specs.ImportDocument,
    "diff": diff.DiffDocument,
    "lock": build.LockDocument,
    "render": build.RenderDocument,
    "build": build.BuildDocument,
    "verify": build.VerifyDocument,
    "register": promotion.RegisterDocument,
    "approve": promotion.ApproveDocument,
    "status": promotion.StatusDocument,
    "history": promotion.HistoryDocument,
    "promote": promotion.PromotionDocument,
    "advance": promotion.AdvanceDocument,
    "sync": promotion.SyncDocument,
    "image": promotion.ImageDocument,
    "audit": promotion.AuditDocument,
    "check-live": promotion.CheckLiveDocument,
    "sbom": supply.SbomWritten,
    "scan": supply.ScanDocument,
    "vulndb": supply.VulnDbDocument,
    "error": errors.ErrorDocument,
}
