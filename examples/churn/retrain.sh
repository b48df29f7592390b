#!/usr/bin/env bash
# The continuous-training loop, end to end, on a copy of this example project
# (docs/continuous-training.md): three retrained versions, each taken as far as
# its gates allow by `envctl advance`, and the version prod serves checked where
# it runs by `envctl check-live`, which rolls prod back when the check fails.
#
#   A  v1.0.0  a first model (regularization 0.1, accuracy 0.979): reaches prod;
#              deployed, its live check passes
#   B  v1.1.0  retrained the same way: no better than A, so prod's challenger
#              margin (accuracy >= baseline + 0.005) refuses it (advance exits 1)
#   C  v1.2.0  tuned (regularization 1.0, accuracy 0.986): reaches prod; deployed
#              with a broken setting (a concurrency limit of 0: every request gets
#              503), its live check fails and prod is rolled back to A
#
# The copy gets the loop's configuration: prod `auto`, no approvals, a challenger
# margin, and policy.live with rollback: auto (the example itself keeps its
# approval). Needs git, Docker (the gates run in the model's images; the service
# runs in prod's image on the host network), envctl, and a Python with what
# model/train.py imports (numpy, scikit-learn 1.9, joblib).
#
#   examples/churn/retrain.sh [WORKDIR]        # default: a new temporary folder
#
# Environment (all optional): ENVCTL (default: envctl on PATH), PYTHON (default
# python3), PORT (the service's port on 127.0.0.1, default: a free one). Exit 0
# when the loop went as told above, 1 otherwise.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${1:-$(mktemp -d)}"
ENVCTL="${ENVCTL:-envctl}"
PYTHON="${PYTHON:-python3}"
for tool in "$ENVCTL" "$PYTHON" git docker; do
  if ! command -v "$tool" >/dev/null; then
    echo "retrain.sh: $tool not found (install it, or name it: ENVCTL=..., PYTHON=...)" >&2
    exit 1
  fi
done
PORT="${PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
URL="http://127.0.0.1:$PORT"
SERVICE="churn-retrain-$$"
declare -A SUMMARY=()
RESULT=0

say() { printf '\n== %s\n' "$*" >&2; }
# `command` runs the program, never this function: with ENVCTL=envctl (the
# default), a plain "$ENVCTL" would call the function itself, forever.
envctl() { printf '$ envctl %s\n' "$*" >&2; command "$ENVCTL" "$@"; }

stop_service() { docker rm -f "$SERVICE" >/dev/null 2>&1 || true; }
trap stop_service EXIT

# ---- the working copy, with the loop's configuration --------------------------

say "working copy: $WORK"
mkdir -p "$WORK"
cp -R "$HERE/envctl.yaml" "$HERE/environments" "$HERE/evaluation" "$HERE/model" "$WORK/"
find "$WORK" -name __pycache__ -prune -exec rm -rf {} +
cd "$WORK"
# No image registry in the loop: images stay on this engine.
sed -i '/^registry:/d' envctl.yaml
# prod: the same environment, the loop's gates and policy (gates: is its last key).
sed -i -e 's/^version: 2$/version: 3/' -e '/^gates:/,$d' environments/prod.yaml
cat >>environments/prod.yaml <<EOF
gates:
  # The challenger must beat the champion (the version prod serves) by half a
  # point, both measured by envctl on the held-out set; checked first, so a
  # refused version costs no test run.
  - evaluate:
      data: holdout
      require: {accuracy: ">= baseline + 0.005", roc_auc: ">= 0.95"}
      scores: probabilities
      claims: metrics.json
  - tests:
      paths: [tests]
      packages: {pytest: "==9.0.3", httpx2: "==2.16.2"}
      timeout: 300
  - http:
      path: /predict
      method: POST
      request: samples/request.json
      expect_status: 200
      expect_keys: [predictions, model_version]
policy:
  auto: true                  # advance may promote into prod unattended
  live:                       # the service's URL is given with --url: it is this machine,
    rollback: auto            # which a spec's policy.live.url may not name; a failed live
                              # check puts the previous version back
EOF
git init -q -b main
git add -A
git -c commit.gpgsign=false commit -qm "churn: the example, with the loop's prod configuration"

# ---- one retraining run ----------------------------------------------------------

retrain() { # VERSION REGULARIZATION: train, commit, register, advance; sets ADVANCED
  local version="$1" regularization="$2"
  say "retrain $version (regularization $regularization)"
  "$PYTHON" model/train.py --version "$version" --regularization "$regularization" >&2
  git add model
  git -c commit.gpgsign=false commit -qm "churn $version: retrained"
  envctl register churn "$version"
  ADVANCED=0
  envctl advance "churn@$version" || ADVANCED=$?
  printf '(advance exited %s)\n' "$ADVANCED" >&2
}

accuracy() { "$PYTHON" -c 'import json; print(json.load(open("model/metrics.json"))["accuracy"])'; }

# ---- deploying what the ledger says prod runs ---------------------------------

prod_image() { # the image prod runs, as its newest event records it (a rollback
  # records the image the restored version ran in). With registry: set and
  # --push, `envctl image churn --stage prod` prints its pullable digest instead.
  command "$ENVCTL" history churn --format json | "$PYTHON" -c '
import json, sys
events = [e for e in json.load(sys.stdin)["events"] if e["stage"] == "prod"]  # newest first
print(events[0]["image"])'
}

deploy() { # [UVICORN OPTION...]: run prod's image as the service
  local image
  image="$(prod_image)"
  stop_service
  say "deploy $image on $URL ${*:+(with $*)}"
  docker run -d --name "$SERVICE" --network host "$image" \
    python -m uvicorn app:app --host 127.0.0.1 --port "$PORT" "$@" >/dev/null
  for _ in $(seq 1 120); do # until it answers at all (any status)
    if "$PYTHON" - "$URL/health" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
PY
    sleep 1
  done
  echo "the service did not start: $(docker logs --tail 20 "$SERVICE" 2>&1)" >&2
  return 1
}

check_live() { # sets LIVE to check-live's exit code
  LIVE=0
  envctl check-live churn --stage prod --url "$URL" || LIVE=$?
  printf '(check-live exited %s)\n' "$LIVE" >&2
}

want() { # WHAT GOT WANTED
  if [ "$2" != "$3" ]; then
    echo "unexpected: $1 was $2, expected $3" >&2
    RESULT=1
  fi
}

# ---- A, B, C -----------------------------------------------------------------------

retrain v1.0.0 0.1
want "A's advance" "$ADVANCED" 0
deploy
check_live
want "A's live check" "$LIVE" 0
SUMMARY[v1.0.0]="A: accuracy $(accuracy); advance exit $ADVANCED (in prod); live check exit $LIVE (passed)"

retrain v1.1.0 0.1
want "B's advance" "$ADVANCED" 1
SUMMARY[v1.1.0]="B: accuracy $(accuracy); advance exit $ADVANCED (refused by prod's challenger margin; stays in staging)"

retrain v1.2.0 1.0
want "C's advance" "$ADVANCED" 0
deploy --limit-concurrency 0 # the broken setting: every request is answered 503
check_live
want "C's live check" "$LIVE" 1
SUMMARY[v1.2.0]="C: accuracy $(accuracy); advance exit $ADVANCED (in prod); live check exit $LIVE (failed: prod rolled back to v1.0.0)"

deploy # what the ledger says prod runs now: A again
check_live
want "the live check after the rollback" "$LIVE" 0
stop_service

# ---- what happened -----------------------------------------------------------------

say "summary"
for version in v1.0.0 v1.1.0 v1.2.0; do
  printf '%s  %s\n' "$version" "${SUMMARY[$version]}"
done
envctl history churn
exit "$RESULT"
