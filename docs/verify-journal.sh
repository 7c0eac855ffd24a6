#!/usr/bin/env bash
# Checks a seibi journal with standard tools only (bash, jq, sha256sum, ssh-keygen), without
# seibi. See docs/journal.md for the format this follows.
#
# usage: verify-journal.sh JOURNAL.jsonl ALLOWED_SIGNERS
#   ALLOWED_SIGNERS: the roster as an OpenSSH allowed_signers file
#   (`seibi roster export-allowed-signers -o allowed_signers`, or kept by the city).
# Prints one line per problem and exits 1 if there is any; prints "ok: ..." and exits 0 if not.
set -u
journal=$1
allowed=$2
namespace=seibi-journal@seibi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

problems=0
problem() { echo "$*"; problems=$((problems + 1)); }

prev=$(printf '%064d' 0)   # the `prev` of line 1
prev_time=""
n=0
run=""
signed=0                   # last line covered by a good checkpoint
finished=no

# A last line without a newline is torn (`read` below skips it).
if [ -s "$journal" ] && [ -n "$(tail -c 1 "$journal")" ]; then
  problem "torn last line: the file does not end with a newline"
fi

while IFS= read -r line; do
  n=$((n + 1))
  # The fields this check needs, as shell-quoted assignments (jq's @sh makes eval safe).
  hash=$(printf '%s' "$line" | sha256sum | cut -d' ' -f1)
  if ! fields=$(jq -r '@sh "seq=\(.seq) lprev=\(.prev) kind=\(.kind) time=\(.time) operator=\(.operator) lrun=\(.run // "") covers=\(.covers // "") head=\(.head // "")"' <<<"$line" 2>/dev/null); then
    problem "line $n: not a JSON record"
    prev=$hash
    continue
  fi
  eval "$fields"
  [ "$seq" = "$n" ] || problem "line $n: seq is $seq, expected $n"
  [ "$lprev" = "$prev" ] || problem "line $n: prev does not match the SHA-256 of line $((n - 1))"
  [ "$n" = 1 ] && run=$lrun
  [ "$kind" = run_end ] && finished=yes
  if [ "$kind" = checkpoint ]; then
    ok=yes
    # Nothing hashes the last line, so a checkpoint line must hold exactly the fields its
    # signature covers, in the form seibi writes them: no field added, none rewritten.
    [ "$(jq -c 'keys_unsorted' <<<"$line")" = '["seq","prev","time","operator","kind","run","covers","head","key","signature"]' ] \
      || { problem "line $n: checkpoint has other fields than seq, prev, time, operator, kind, run, covers, head, key, signature"; ok=no; }
    [ "$(jq -c . <<<"$line")" = "$line" ] || { problem "line $n: checkpoint is not in canonical form"; ok=no; }
    key=$(jq -r .key <<<"$line")
    [ "$lrun" = "$run" ] || { problem "line $n: checkpoint names another run"; ok=no; }
    [ "$covers" = "$((n - 1))" ] || { problem "line $n: checkpoint does not cover line $((n - 1))"; ok=no; }
    [ "$head" = "$prev" ] || { problem "line $n: checkpoint head is not the SHA-256 of line $((n - 1))"; ok=no; }
    [[ ! "$time" < "$prev_time" ]] || { problem "line $n: checkpoint dated before the line it signs"; ok=no; }
    # The signed message, byte for byte, and the armored signature.
    jq -j '"seibi-journal v1 \(.run) seq=\(.covers) head=\(.head) time=\(.time)\n"' <<<"$line" >"$tmp/message"
    jq -j '.signature' <<<"$line" >"$tmp/signature"
    # Validity is checked at the checkpoint's own time: 2026-06-01T01:02:03.456Z -> 20260601010203Z
    at=$(sed -E 's/^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2}).*Z$/\1\2\3\4\5\6Z/' <<<"$time")
    if ! ssh-keygen -Y verify -f "$allowed" -I "$operator" -n "$namespace" \
        -s "$tmp/signature" "-Overify-time=$at" <"$tmp/message" >"$tmp/out" 2>&1; then
      problem "line $n: signature rejected by ssh-keygen: $(tr '\n' ' ' <"$tmp/out")"
      ok=no
    elif [ "$(sed -n 's/.* key \(SHA256:[^ ]*\)$/\1/p' "$tmp/out" | head -n 1)" != "$key" ]; then
      # ssh-keygen names the signing key's fingerprint; the line's `key` label must be it.
      problem "line $n: key label $key is not the key that signed ($(tr '\n' ' ' <"$tmp/out"))"
      ok=no
    fi
    [ "$ok" = yes ] && signed=$n
  fi
  prev=$hash
  prev_time=$time
done <"$journal"

[ "$n" -gt 0 ] || problem "the journal is empty"
[ "$signed" = "$n" ] || problem "lines $((signed + 1))-$n are not covered by a good checkpoint"
[ "$finished" = yes ] || problem "no run_end record"

if [ "$problems" -gt 0 ]; then
  exit 1
fi
echo "ok: run $run, $n lines, head $prev"
