"""What `envctl --help` lists: each command and its summary, in order, without
importing the modules that define them (tests/cli/test_registration.py keeps
this table equal to what those modules register)."""

from __future__ import annotations

SUMMARIES = (
    ("init", "Scaffold envctl.yaml and environments/{dev,staging,prod}.yaml here."),
    ("validate", "Validate environment specs; exit 3 listing every problem when one is invalid."),
    ("show", "Print the resolved spec (after extends), its version and fingerprint."),
    ("list", "List the project's environments in stage order, with version and fingerprint."),
    ("schema", "Print the JSON Schema of environment specs (or of envctl.yaml, or of an output)."),
    ("check", "CI step: every spec valid, and every spec changed since BASE has a higher version."),
    (
        "import",
        "Write environments/NAME.yaml from existing pins, listing what was not carried over.",
    ),
    ("diff", "Every mismatch that can break a model or a policy between two environments."),
    (
        "lock",
        "Resolve ENV's packages (full transitive set, exact versions, sha256 hashes) for "
        "the spec's Python and image platform into environments/ENV.lock.",
    ),
    ("render", "Print the Dockerfile that `envctl build ENV` would build."),
    (
        "build",
        "Build ENV's image hermetically (locked wheels, networking off), tagged by "
        "fingerprint; reuse it when an image with that fingerprint exists.",
    ),
    (
        "verify",
        "Probe an image (Python, installed distributions, OS, labels) and report every "
        "difference from ENV's spec and lock.",
    ),
    ("register", "Register a model version: annotated tag NAME@vX.Y.Z (GTO's grammar)."),
    (
        "approve",
        "Approve a model version for entering a stage (recorded in git where GTO never "
        "reads it as an assignment).",
    ),
    ("promote", "Promote a model version into STAGE once that stage's gates pass."),
    (
        "advance",
        "Promote a version into every stage after the one it has entered, in order, each "
        "through its own gates, for unattended jobs (docs/continuous-training.md).",
    ),
    (
        "sync",
        "Fetch the remote's registry tags, renumber local-only events that clash with its"
        " numbering, and push what only this clone has (docs/ledger.md).",
    ),
    ("status", "Which version of each model is in each stage, since when, by whom."),
    ("history", "The model's promotion ledger, newest first (bypasses and rollbacks included)."),
    ("audit", "Replay the whole ledger offline and list every violation; exit 1 if any."),
    (
        "rollback",
        "Put back the newest version the stage held before the current one that has not "
        "been rolled back from it since it last entered, as a new recorded event (no "
        "gates: it restores what already passed them).",
    ),
    (
        "image",
        "Print the image the stage runs as REPO@sha256:..., one line, for deploy scripts "
        "(from the promotion record: no Docker needed).",
    ),
    (
        "check-live",
        "Send the stage's http gate requests (and read its policy.live.metrics) to the "
        "service the stage serves now, and judge the answers as the gates do.",
    ),
    (
        "sbom",
        "Write the SBOM of an image (CycloneDX, or SPDX with --format spdx-json): every "
        "Python distribution it holds (with the lock's hashes when it was built from that "
        "lock) and every Debian package in its dpkg status, read from the image itself. "
        "With --stage: the one the promotion stored beside the image in the registry "
        "(else made again from the image), checked against its record.",
    ),
    ("scan", "Re-check what every stage runs now against today's vulnerability database."),
    ("vulndb", "The local OSV vulnerability database (offline checks)."),
)
