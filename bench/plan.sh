#!/usr/bin/env bash
# Times what a user runs on a large inventory: `seibi check`, `seibi plan -o plan.json` and
# `seibi plan --start 2026-10-01 -o plan.json`, on copies of the example with N extra terminals
# (bench/plan-fleet.sh). Prints, per size and command, the median wall time of the runs, the
# median CPU time (user + system, less sensitive than wall time to other work on the machine)
# and the largest peak RSS.
#
#   bench/plan.sh [--sizes "1000 10000 100000"] [--runs 3] [--seibi PATH] [--keep-work]
#
# Not a test: CI does not run it. Needs GNU time (/usr/bin/time). Builds seibi in release
# unless --seibi names a binary.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
SIZES="1000 10000 100000"
RUNS=3
SEIBI=
KEEP_WORK=0

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --seibi) SEIBI=$2; shift 2 ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "plan.sh: unknown argument $1" >&2; usage 2 ;;
    esac
done

if [[ -z "$SEIBI" ]]; then
    (cd "$REPO" && cargo build --release --locked --bin seibi --quiet)
    SEIBI="${CARGO_TARGET_DIR:-$REPO/target}/release/seibi"
fi
SEIBI=$(realpath "$SEIBI")

WORK=$(mktemp -d /tmp/seibi-plan-bench.XXXXXX)
cleanup() { [[ $KEEP_WORK == 1 ]] && echo "work kept in $WORK" >&2 || rm -rf "$WORK"; }
trap cleanup EXIT

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# measure LABEL ARGS...: runs seibi RUNS times in the project, prints one table row.
measure() {
    local label=$1
    shift
    local times="$WORK/times"
    : > "$times"
    for ((r = 0; r < RUNS; r++)); do
        rm -f "$PROJECT/plan.json"
        local status=0
        /usr/bin/time -f '%e %U %S %M' -o "$WORK/one" "$SEIBI" -C "$PROJECT" "$@" \
            > /dev/null 2> "$WORK/stderr" || status=$?
        # exit 3: a schedule that is not feasible is still a plan (it is printed and written)
        if [[ $status != 0 && $status != 3 ]]; then
            echo "plan.sh: seibi $* failed (exit $status):" >&2
            tail -5 "$WORK/stderr" >&2
            exit 1
        fi
        tail -1 "$WORK/one" >> "$times"
    done
    local wall cpu rss size=-
    wall=$(awk '{ print $1 }' "$times" | median)
    cpu=$(awk '{ printf "%.2f\n", $2 + $3 }' "$times" | median)
    rss=$(awk '{ print $4 }' "$times" | sort -g | tail -1)
    [[ -f "$PROJECT/plan.json" ]] && size="$(( $(stat -c %s "$PROJECT/plan.json") / 1000000 )) MB"
    printf '| %s | `%s` | %s s | %s s | %s MB | %s |\n' \
        "$N" "$label" "$wall" "$cpu" "$(( rss / 1024 ))" "$size"
}

echo "seibi: $SEIBI ($("$SEIBI" --version)), $RUNS runs each, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| extra terminals | command | wall (median) | CPU user+sys (median) | peak RSS (max) | plan.json |"
echo "|---|---|---|---|---|---|"
for N in $SIZES; do
    PROJECT="$WORK/fleet-$N"
    "$BENCH_DIR/plan-fleet.sh" "$N" "$PROJECT"
    measure check check
    measure "plan -o plan.json" plan -o "$PROJECT/plan.json"
    measure "plan --start 2026-10-01 -o plan.json" plan --start 2026-10-01 -o "$PROJECT/plan.json"
    rm -rf "$PROJECT"
done
