#!/usr/bin/env bash
# Compares seibi with Ansible and pyinfra on the same real fleet (`seibi lab up`): the same
# five-task visit (inventory check, settings file from a template, software version file,
# patch-level file, chpasswd of a test account), each tool once, cold, on a fresh fleet.
# Prints wall time and client CPU time per tool and the ratios, then a scaling run.
#
#   sudo bench/run.sh [--hosts N] [--sizes "10 50 100 200"] [--tools seibi,ansible,pyinfra]
#                     [--scaling-tools seibi] [--base-address 127.0.200.1] [--keep-work]
#
# Not a test: CI does not run it. Needs root (the lab fleet), cargo, python3 (3.11) and the
# network to PyPI on the first run (ansible-core and pyinfra go into bench/.venv).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
HOSTS=50
SIZES="10 50 100 200"
TOOLS=seibi,ansible,pyinfra
SCALING_TOOLS=seibi
BASE_ADDRESS=127.0.200.1
KEEP_WORK=0
# The test account whose password the visit sets; created on every host before the run.
BENCH_USER=benchuser
BENCH_PASSWORD=Bench-Visit-2026-pw

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --hosts) HOSTS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --scaling-tools) SCALING_TOOLS=$2; shift 2 ;;
    --base-address) BASE_ADDRESS=$2; shift 2 ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
    esac
done

die() { echo "run.sh: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[[ $(id -u) -eq 0 ]] || die "the lab fleet needs root; run with sudo"
[[ $HOSTS =~ ^[0-9]+$ && $HOSTS -ge 1 ]] || die "--hosts wants a positive number, not $HOSTS"
for s in $SIZES; do [[ $s =~ ^[0-9]+$ && $s -ge 1 ]] || die "--sizes wants positive numbers, not $s"; done
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
IFS=, read -r -a SCALING_LIST <<<"$SCALING_TOOLS"
for t in "${TOOL_LIST[@]}" "${SCALING_LIST[@]}"; do
    case "$t" in seibi | ansible | pyinfra) ;; *) die "unknown tool $t (seibi, ansible, pyinfra)" ;; esac
done
wants() { # wants TOOL: whether any run uses TOOL
    local t
    for t in "${TOOL_LIST[@]}" "${SCALING_LIST[@]}"; do [[ $t == "$1" ]] && return 0; done
    return 1
}

# --- Work directory, fleet and cleanup ----------------------------------------------------------

WORK=$(mktemp -d /tmp/seibi-bench.XXXXXX)
STATE="$WORK/lab"
CGROOT=/sys/fs/cgroup/cpuacct
FLEET_UP=0
CURRENT_CG=""
# The fleet's sshd processes and every session they start run in a cpuacct cgroup of their own,
# so that each tool's server-side CPU can be shown next to its client CPU.
FLEET_CG=""
[[ -w $CGROOT ]] && FLEET_CG="$CGROOT/seibi-bench-$$-fleet"

cleanup() {
    local rc=$?
    if [[ $FLEET_UP -eq 1 ]]; then
        "$SEIBI" lab down --state-dir "$STATE" >/dev/null 2>&1 || log "warning: seibi lab down --state-dir $STATE failed"
    fi
    [[ -n $CURRENT_CG ]] && drop_cgroup "$CURRENT_CG"
    [[ -n $FLEET_CG ]] && drop_cgroup "$FLEET_CG"
    if [[ $KEEP_WORK -eq 1 || $rc -ne 0 ]]; then
        log "work files kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Tools --------------------------------------------------------------------------------------

command -v /usr/bin/time >/dev/null || {
    log "installing GNU time (apt)"
    apt-get install -y -qq time >/dev/null
}

TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
SEIBI="$TARGET_DIR/release/seibi"
log "building seibi (release)"
(cd "$REPO" && cargo build --release --quiet --bin seibi)

VENV="$BENCH_DIR/.venv"
if wants ansible || wants pyinfra; then
    if [[ ! -x $VENV/bin/ansible-playbook || ! -x $VENV/bin/pyinfra ]]; then
        log "creating $VENV with ansible-core 2.19 and pyinfra 3.10 from PyPI"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet 'ansible-core==2.19.*' 'pyinfra==3.10.*'
    fi
fi
VERSIONS="seibi $("$SEIBI" --version 2>/dev/null | awk '{print $NF}')"
if [[ -x $VENV/bin/ansible-playbook ]]; then
    VERSIONS+=", ansible-core $("$VENV/bin/python" -c 'import ansible.release as r; print(r.__version__)')"
    VERSIONS+=", pyinfra $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pyinfra"))')"
    VERSIONS+=", $("$VENV/bin/python" --version)"
fi

seibi_has_apply() { "$SEIBI" apply --help >/dev/null 2>&1; }

# --- Fleet --------------------------------------------------------------------------------------

# Parallel SSH to every host with the fleet's key and host keys (setup and checks, not timed).
HOSTS_TSV="$WORK/hosts.tsv" # name <TAB> address, one host a line
on_all_hosts() { # on_all_hosts SCRIPT: runs SCRIPT on each host; prints "name<TAB>output" lines
    local script=$1
    export -f on_host
    export STATE SCRIPT_TEXT="$script"
    xargs -P 32 -L 1 bash -c 'on_host "$0" "$1"' <"$HOSTS_TSV"
}
on_host() {
    local out
    out=$(ssh -n -i "$STATE/client_key" -o UserKnownHostsFile="$STATE/known_hosts" \
        -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=20 \
        "root@$2" "$SCRIPT_TEXT" 2>&1 | tr '\n' ' ')
    printf '%s\t%s\n' "$1" "$out"
}

fleet_up() { # fleet_up N: a fresh fleet of N hosts with the test account
    local n=$1
    log "starting a fleet of $n hosts from $BASE_ADDRESS"
    mkdir -p "$STATE"
    FLEET_UP=1
    [[ -n $FLEET_CG ]] && mkdir -p "$FLEET_CG"
    (
        [[ -n $FLEET_CG ]] && echo "$BASHPID" >"$FLEET_CG/cgroup.procs"
        exec "$SEIBI" lab up "$n" --base-address "$BASE_ADDRESS" --state-dir "$STATE"
    ) >"$WORK/lab-up.log" 2>&1 || { cat "$WORK/lab-up.log" >&2; die "seibi lab up failed"; }
    sed -n 's/^  \([^:]*\): { site: [^,]*, address: \([0-9.]*\),.*/\1\t\2/p' "$STATE/inventory.yml" >"$HOSTS_TSV"
    [[ $(wc -l <"$HOSTS_TSV") -eq $n ]] || die "the lab inventory lists $(wc -l <"$HOSTS_TSV") hosts, not $n"
    local bad
    bad=$(on_all_hosts "useradd -M -s /usr/sbin/nologin $BENCH_USER && echo created" | grep -cv $'\tcreated $' || true)
    [[ $bad -eq 0 ]] || die "could not create $BENCH_USER on $bad hosts"
}

fleet_down() {
    "$SEIBI" lab down --state-dir "$STATE" >/dev/null
    FLEET_UP=0
    [[ -n $FLEET_CG ]] && drop_cgroup "$FLEET_CG"
    return 0
}

# Checks on every host that the visit did its five things; prints how many hosts are complete.
verify_fleet() {
    # shellcheck disable=SC2016 # expanded on the host
    on_all_hosts '
        h=$(hostname)
        grep -qx "# Bench visit settings for $h; local changes are overwritten." /etc/bench-settings.conf &&
        grep -qx "server ntp2.city.example iburst" /etc/bench-settings.conf &&
        grep -qx "log_server=log01.city.example" /etc/bench-settings.conf &&
        [ "$(cat /opt/bench-app.version)" = "bench-app 2.4.1" ] &&
        [ "$(cat /etc/bench-patch-level)" = "2026-10" ] &&
        [ "$(stat -c %a /etc/bench-settings.conf /opt/bench-app.version /etc/bench-patch-level | sort -u)" = 644 ] &&
        grep -q "^'"$BENCH_USER"':[\$]" /etc/shadow && echo complete' | grep -c $'\tcomplete $' || true
}

# --- Each tool's inputs and command -------------------------------------------------------------

prepare_ansible() { # prepare_ansible N
    local n=$1 dir="$WORK/ansible"
    rm -rf "$dir" && mkdir -p "$dir/cp" "$dir/tmp"
    {
        echo "all:"
        echo "  vars:"
        echo "    ansible_user: root"
        echo "    ansible_ssh_private_key_file: $STATE/client_key"
        echo "    ansible_ssh_common_args: '-o UserKnownHostsFile=$STATE/known_hosts -o StrictHostKeyChecking=yes'"
        echo "    ansible_python_interpreter: /usr/bin/python3"
        echo "  hosts:"
        while IFS=$'\t' read -r name address; do
            echo "    $name: { ansible_host: $address }"
        done <"$HOSTS_TSV"
    } >"$dir/inventory.yml"
    cat >"$dir/ansible.cfg" <<EOF
[defaults]
forks = $n
host_key_checking = True
retry_files_enabled = False
local_tmp = $dir/tmp
[ssh_connection]
pipelining = True
control_path_dir = $dir/cp
EOF
    cat >"$dir/command.sh" <<EOF
ANSIBLE_CONFIG=$dir/ansible.cfg exec $VENV/bin/ansible-playbook -i $dir/inventory.yml $BENCH_DIR/ansible/visit.yml
EOF
}

prepare_pyinfra() { # prepare_pyinfra N
    local dir="$WORK/pyinfra"
    rm -rf "$dir" && mkdir -p "$dir"
    {
        echo "# Written by bench/run.sh from the lab inventory."
        echo "_ssh = {"
        echo "    'ssh_user': 'root',"
        echo "    'ssh_key': '$STATE/client_key',"
        echo "    'ssh_known_hosts_file': '$STATE/known_hosts',"
        echo "    'ssh_strict_host_key_checking': 'yes',"
        echo "}"
        echo "hosts = ["
        while IFS=$'\t' read -r name address; do
            echo "    ('$name', {'ssh_hostname': '$address', **_ssh}),"
        done <"$HOSTS_TSV"
        echo "]"
    } >"$dir/inventory.py"
    cat >"$dir/command.sh" <<EOF
cd $BENCH_DIR/pyinfra && exec $VENV/bin/pyinfra $dir/inventory.py visit.py --parallel $1 -y
EOF
}

prepare_seibi() { # prepare_seibi N
    local dir="$WORK/seibi"
    rm -rf "$dir" && mkdir -p "$dir/inventory" "$dir/playbooks/templates"
    cp "$STATE/inventory.yml" "$dir/inventory/lab.yml"
    cp "$BENCH_DIR/seibi/playbooks/visit.yml" "$dir/playbooks/"
    cp "$BENCH_DIR/templates/settings.conf.j2" "$dir/playbooks/templates/"
    # The operator who applies (and signs the journal) is the fleet's client key.
    cat >"$dir/roster.yml" <<EOF
people:
  - id: bench
    name: Bench operator
    organisation: seibi bench
    role: operator
    key: $(cat "$STATE/client_key.pub")
    valid_from: 2020-01-01
    valid_until: 2099-12-31
EOF
    "$SEIBI" check -C "$dir" >"$WORK/seibi-check.log" 2>&1 ||
        { cat "$WORK/seibi-check.log" >&2; die "seibi check refused the bench project"; }
    cat >"$dir/command.sh" <<EOF
exec env -u SSH_AUTH_SOCK $SEIBI apply -C $dir --key $STATE/client_key --known-hosts $STATE/known_hosts --forks $1 --progress plain --unapproved --outside-window --reason "benchmark on a local lab fleet"
EOF
}

# --- Measuring ----------------------------------------------------------------------------------

drop_cgroup() { # kills what is left in the bench's own cgroup (e.g. ssh ControlPersist masters)
    local cg=$1 pid
    [[ -d $cg ]] || return 0
    for _ in 1 2 3 4 5; do
        while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$cg/cgroup.procs"
        rmdir "$cg" 2>/dev/null && break
        sleep 0.2
    done
    [[ $cg == "$CURRENT_CG" ]] && CURRENT_CG=""
    return 0
}

cgroup_seconds() { # cgroup_seconds CGROUP: CPU time used so far, or 0 without cgroups
    if [[ -n $1 ]]; then awk '{printf "%.2f", $1 / 1e9}' "$1/cpuacct.usage"; else echo 0; fi
}
machine_busy() { # CPU seconds the whole machine has been busy (all cores, every process)
    awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}

RESULTS="$WORK/results.tsv" # tool size wall user sys client-cpu complete fleet-cpu machine-busy%
: >"$RESULTS"

# measure TOOL N: runs the tool once on the running fleet; appends a line to $RESULTS.
# Wall time and user+sys of the waited-for process tree come from GNU time; the tool's whole
# process tree, including daemons it leaves behind (Ansible's ssh ControlPersist masters, which
# GNU time cannot see), is counted in a cpuacct cgroup of its own when the machine has one.
measure() {
    local tool=$1 n=$2 cg="" cpu
    local out="$WORK/$tool-$n.log" timing="$WORK/$tool-$n.time"
    if [[ -w $CGROOT ]]; then
        cg="$CGROOT/seibi-bench-$$-$tool-$n"
        mkdir "$cg"
        CURRENT_CG=$cg
    fi
    log "running $tool on $n hosts"
    local rc=0 fleet0 busy0
    fleet0=$(cgroup_seconds "$FLEET_CG") busy0=$(machine_busy)
    (
        [[ -n $cg ]] && echo "$BASHPID" >"$cg/cgroup.procs"
        exec /usr/bin/time -f '%e %U %S' -o "$timing" bash "$WORK/$tool/command.sh"
    ) >"$out" 2>&1 || rc=$?
    local fleet busy
    fleet=$(awk -v a="$fleet0" -v b="$(cgroup_seconds "$FLEET_CG")" 'BEGIN { printf "%.2f", b - a }')
    busy=$(machine_busy)
    if [[ -n $cg ]]; then
        cpu=$(awk '{printf "%.2f", $1 / 1e9}' "$cg/cpuacct.usage")
        drop_cgroup "$cg"
    else
        cpu=$(awk '{printf "%.2f", $2 + $3}' "$timing")
    fi
    local complete
    complete=$(verify_fleet)
    [[ $rc -eq 0 ]] || log "warning: $tool exited with status $rc (see $out)"
    [[ $complete -eq $n ]] || log "warning: $tool completed the visit on $complete of $n hosts (see $out)"
    read -r wall user sys < <(tail -n 1 "$timing")
    busy=$(awk -v a="$busy0" -v b="$busy" -v w="$wall" -v c="$(nproc)" 'BEGIN { printf "%.0f", (w > 0) ? 100 * (b - a) / (w * c) : 0 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$n" "$wall" "$user" "$sys" "$cpu" "$complete" "$fleet" "$busy" >>"$RESULTS"
}

bench_one() { # bench_one TOOL N: fresh fleet, prepare, measure, stop
    local tool=$1 n=$2
    if grep -q "^$tool	$n	" "$RESULTS"; then return 0; fi
    if [[ $tool == seibi ]] && ! seibi_has_apply; then
        log "skipping seibi: this build has no \`seibi apply\` yet"
        return 0
    fi
    fleet_up "$n"
    case $tool in
    ansible) prepare_ansible "$n" ;;
    pyinfra) prepare_pyinfra "$n" ;;
    seibi) prepare_seibi "$n" ;;
    esac
    measure "$tool" "$n"
    fleet_down
}

# --- The runs -----------------------------------------------------------------------------------

for tool in "${TOOL_LIST[@]}"; do bench_one "$tool" "$HOSTS"; done
for n in $SIZES; do
    for tool in "${SCALING_LIST[@]}"; do bench_one "$tool" "$n"; done
done

# --- Report -------------------------------------------------------------------------------------

lookup() { awk -F'\t' -v t="$1" -v n="$2" -v c="$3" '$1 == t && $2 == n { print $c }' "$RESULTS"; }
ratio() { # ratio A B: A/B with two decimals, or - when either is missing
    if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; else echo -; fi
}

echo
echo "seibi bench: the five-task visit, cold, on $HOSTS lab hosts ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
echo "$VERSIONS"
echo
printf '%-8s %6s %8s %13s %8s %8s %12s %13s %9s\n' tool hosts "wall s" "client CPU s" "user s" "sys s" "fleet CPU s" "machine busy" complete
for tool in "${TOOL_LIST[@]}"; do
    awk -F'\t' -v t="$tool" -v n="$HOSTS" '$1 == t && $2 == n {
        printf "%-8s %6d %8.2f %13.2f %8.2f %8.2f %12.2f %12d%% %9s\n", $1, $2, $3, $6, $4, $5, $8, $9, $7 "/" $2 }' "$RESULTS"
done
echo "client CPU: user+sys of the tool's whole process tree (cpuacct cgroup; user/sys: GNU time, waited-for children only)"
echo "fleet CPU: the hosts' sshd and everything the visit ran there; machine busy: all cores, all processes, during the run"
s_wall=$(lookup seibi "$HOSTS" 3) s_cpu=$(lookup seibi "$HOSTS" 6)
for other in ansible pyinfra; do
    o_wall=$(lookup "$other" "$HOSTS" 3) o_cpu=$(lookup "$other" "$HOSTS" 6)
    [[ -n $o_wall ]] || continue
    printf '%s/seibi: wall %s, client CPU %s\n' "$other" "$(ratio "$o_wall" "$s_wall")" "$(ratio "$o_cpu" "$s_cpu")"
done

if [[ -n $SIZES ]]; then
    echo
    echo "scaling (one cold run per size):"
    printf '%-8s %6s %8s %13s %13s %12s %13s\n' tool hosts "wall s" "wall ms/host" "client CPU s" "fleet CPU s" "machine busy"
    for tool in "${SCALING_LIST[@]}"; do
        for n in $SIZES; do
            awk -F'\t' -v t="$tool" -v n="$n" '$1 == t && $2 == n {
                printf "%-8s %6d %8.2f %13.1f %13.2f %12.2f %12d%%\n", $1, $2, $3, 1000 * $3 / $2, $6, $8, $9 }' "$RESULTS"
        done
    done
fi
