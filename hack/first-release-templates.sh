#!/usr/bin/env bash
# Records what the first release's builders made for the Microservices in
# controllers/resources/testdata/first-release/microservices.yaml, into workloads.json
# next to it: the pod templates (and immutable fields) that services created by that
# release run with. TestPodTemplatesAsFirstRelease holds today's builders to them, so a
# new default in a pod template cannot roll every existing service on upgrade.
#
#   hack/first-release-templates.sh     rewrite workloads.json (needs the git history)
#
# The release's tree is extracted with git archive into a temporary directory (no
# worktree is registered), and hack/builderdump is run inside it: it only calls builder
# functions that release already had.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMIT=c5048d1 # the first release; test/e2e/upgrade_baseline_test.go upgrades from it too
DATA=$ROOT/controllers/resources/testdata/first-release

git -C "$ROOT" cat-file -e "$COMMIT^{commit}" 2>/dev/null || {
  echo "commit $COMMIT (the first release) is not in this clone: fetch the full history (git fetch --unshallow)" >&2
  exit 1
}
TREE=$(mktemp -d)
trap 'rm -rf "$TREE"' EXIT
git -C "$ROOT" archive --format=tar "$COMMIT" | tar -x -C "$TREE"
mkdir -p "$TREE/hack/builderdump"
cp "$ROOT/hack/builderdump/main.go" "$TREE/hack/builderdump/"
(cd "$TREE" && go run ./hack/builderdump) <"$DATA/microservices.yaml" >"$DATA/workloads.json.tmp"
mv "$DATA/workloads.json.tmp" "$DATA/workloads.json"
echo "wrote $DATA/workloads.json from $COMMIT" >&2
