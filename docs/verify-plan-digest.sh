#!/usr/bin/env bash
# Recomputes a seibi plan's digest with standard tools only (jq, sha256sum), without seibi, and
# compares it with the digest the plan states.
#
# The digest is "sha256:" and the SHA-256 of the plan's canonical JSON: the whole document with
# its "digest" field set to "", object keys sorted, no white space, UTF-8, whole numbers without
# a fraction (20.0 is written 20) (`jq -cS`; the newline jq ends its output with is not part of
# it). `. + 0` on every number makes jq 1.7, which keeps number literals as written, print them
# as jq 1.6 does.
#
# usage: verify-plan-digest.sh PLAN.json
# Prints the stated and computed digests; exits 0 when they match, 1 when not.
set -euo pipefail
plan=${1:?usage: verify-plan-digest.sh PLAN.json}
stated=$(jq -r '.digest' "$plan")
canonical='.digest = "" | walk(if type == "number" then . + 0 else . end)'
computed="sha256:$(jq -cS "$canonical" "$plan" | tr -d '\n' | sha256sum | cut -d' ' -f1)"
echo "stated:   $stated"
echo "computed: $computed"
if [ "$stated" = "$computed" ]; then
  echo "ok: the digest matches the plan's content"
else
  echo "MISMATCH: the plan was changed after it was made"
  exit 1
fi
