#!/usr/bin/env bash
# Compares seibi with Ansible and pyinfra on the same real fleet (`seibi lab up`): the same
# five-task visit (inventory check, settings file from a template, software version file,
# patch-level file, chpasswd of a test account), each tool once, cold, on a fresh fleet.
# Prints wall time, client and fleet CPU time and the SSH connections, session channels and
# commands per host and task for each tool, the ratios, then a scaling run. With --rtt "0 20"
# the whole comparison runs once per round-trip time (ms), the fleet reached through the lab's
# WAN relay; the scaling run uses the first of them.
#
#   sudo bench/run.sh [--hosts N] [--sizes "10 50 100 200"] [--tools seibi,ansible,pyinfra]
#                     [--scaling-tools seibi] [--rtt "0 20"] [--base-address 127.0.200.1]
#                     [--keep-work]
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
RTTS="" # round-trip times (ms) to run at through the relay; empty: hosts reached directly
# The visit's tasks, for the per-task counts.
TASKS=5
# The test account whose password the visit sets; created on every host before the run.
BENCH_USER=benchuser
BENCH_PASSWORD=Bench-Visit-2026-pw

usage() {
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --hosts) HOSTS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --scaling-tools) SCALING_TOOLS=$2; shift 2 ;;
    --base-address) BASE_ADDRESS=$2; shift 2 ;;
    --rtt) RTTS=$2; shift 2 ;;
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
for r in $RTTS; do [[ $r =~ ^[0-9]+$ && $r -le 2000 ]] || die "--rtt wants round-trip times in ms (0-2000), not $r"; done
# "direct": no relay; a number: through the relay with that round-trip time.
read -r -a RTT_LIST <<<"${RTTS:-direct}"
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
# The WAN relay (one process for the fleet) is the network, neither client nor fleet: its CPU
# is counted in a cgroup of its own.
RELAY_CG=""
[[ -w $CGROOT ]] && RELAY_CG="$CGROOT/seibi-bench-$$-relay"
RTT=direct # the round-trip time of the fleet now up

cleanup() {
    local rc=$?
    if [[ $FLEET_UP -eq 1 ]]; then
        "$SEIBI" lab down --state-dir "$STATE" >/dev/null 2>&1 || log "warning: seibi lab down --state-dir $STATE failed"
    fi
    [[ -n $CURRENT_CG ]] && drop_cgroup "$CURRENT_CG"
    [[ -n $FLEET_CG ]] && drop_cgroup "$FLEET_CG"
    [[ -n $RELAY_CG ]] && drop_cgroup "$RELAY_CG"
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

fleet_up() { # fleet_up N RTT: a fresh fleet of N hosts with the test account, RTT ms away (or direct)
    local n=$1 rtt=$2 wan=()
    [[ $rtt == direct ]] || wan=(--rtt "${rtt}ms")
    log "starting a fleet of $n hosts from $BASE_ADDRESS (RTT: $rtt)"
    mkdir -p "$STATE"
    FLEET_UP=1
    RTT=$rtt
    [[ -n $FLEET_CG ]] && mkdir -p "$FLEET_CG"
    # sshd logs every session channel and request (`--sshd-log-level channels`), which is how
    # the SSH work of each tool is counted on the hosts' side, the same way for all three.
    (
        [[ -n $FLEET_CG ]] && echo "$BASHPID" >"$FLEET_CG/cgroup.procs"
        exec "$SEIBI" lab up "$n" --base-address "$BASE_ADDRESS" --state-dir "$STATE" \
            --sshd-log-level channels "${wan[@]}"
    ) >"$WORK/lab-up.log" 2>&1 || { cat "$WORK/lab-up.log" >&2; die "seibi lab up failed"; }
    if [[ $rtt != direct && -n $RELAY_CG ]]; then
        # The relay process was started inside the fleet's cgroup; it gets its own.
        local relay_pid
        relay_pid=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["relay"]["pid"])' "$STATE/fleet.json")
        mkdir -p "$RELAY_CG"
        echo "$relay_pid" >"$RELAY_CG/cgroup.procs"
    fi
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
    [[ -n $RELAY_CG ]] && drop_cgroup "$RELAY_CG"
    return 0
}

# Remembers how far each host's sshd log (host.log) has got, before a timed run.
mark_host_logs() {
    local log
    for log in "$STATE"/hosts/*/host.log; do printf '%s\t%s\n' "$log" "$(stat -c %s "$log")"; done >"$WORK/log-marks"
}

# Counts, in what the hosts' sshd logged since mark_host_logs, over all hosts: logins
# (connections), session channels opened, and commands (exec, shell and subsystem requests such
# as sftp). Prints "connections channels commands".
count_ssh_work() {
    local log mark
    while IFS=$'\t' read -r log mark; do tail -c +"$((mark + 1))" "$log"; done <"$WORK/log-marks" |
        awk '/Accepted publickey for / { c++ }
             /server_input_channel_open\(\):[0-9]+ \(pid=[0-9]+\): ctype session / { s++ }
             /server_input_channel_req: channel [0-9]+ request (exec|shell|subsystem) / { x++ }
             END { printf "%d %d %d\n", c, s, x }'
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

# tool size rtt wall user sys client-cpu complete fleet-cpu machine-busy% relay-cpu connections channels commands
RESULTS="$WORK/results.tsv"
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
    log "running $tool on $n hosts (RTT: $RTT)"
    local rc=0 fleet0 busy0 relay0
    mark_host_logs
    fleet0=$(cgroup_seconds "$FLEET_CG") busy0=$(machine_busy) relay0=$(relay_seconds)
    (
        [[ -n $cg ]] && echo "$BASHPID" >"$cg/cgroup.procs"
        exec /usr/bin/time -f '%e %U %S' -o "$timing" bash "$WORK/$tool/command.sh"
    ) >"$out" 2>&1 || rc=$?
    local fleet busy
    fleet=$(awk -v a="$fleet0" -v b="$(cgroup_seconds "$FLEET_CG")" 'BEGIN { printf "%.2f", b - a }')
    busy=$(machine_busy)
    local relay counts
    relay=$(awk -v a="$relay0" -v b="$(relay_seconds)" 'BEGIN { printf "%.2f", b - a }')
    sleep 0.3 # the last sessions' log lines
    counts=$(count_ssh_work)
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
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$n" "$RTT" "$wall" "$user" "$sys" "$cpu" \
        "$complete" "$fleet" "$busy" "$relay" ${counts// /$'\t'} >>"$RESULTS"
}

relay_seconds() { # CPU time of the relay so far (0 without one)
    if [[ $RTT != direct && -n $RELAY_CG && -d $RELAY_CG ]]; then cgroup_seconds "$RELAY_CG"; else echo 0; fi
}

bench_one() { # bench_one TOOL N RTT: fresh fleet, prepare, measure, stop
    local tool=$1 n=$2 rtt=$3
    if grep -q "^$tool	$n	$rtt	" "$RESULTS"; then return 0; fi
    if [[ $tool == seibi ]] && ! seibi_has_apply; then
        log "skipping seibi: this build has no \`seibi apply\` yet"
        return 0
    fi
    fleet_up "$n" "$rtt"
    case $tool in
    ansible) prepare_ansible "$n" ;;
    pyinfra) prepare_pyinfra "$n" ;;
    seibi) prepare_seibi "$n" ;;
    esac
    measure "$tool" "$n"
    fleet_down
}

# --- The runs -----------------------------------------------------------------------------------

for rtt in "${RTT_LIST[@]}"; do
    for tool in "${TOOL_LIST[@]}"; do bench_one "$tool" "$HOSTS" "$rtt"; done
done
for n in $SIZES; do
    for tool in "${SCALING_LIST[@]}"; do bench_one "$tool" "$n" "${RTT_LIST[0]}"; done
done

# --- Report -------------------------------------------------------------------------------------

lookup() { # lookup TOOL N RTT COLUMN
    awk -F'\t' -v t="$1" -v n="$2" -v r="$3" -v c="$4" '$1 == t && $2 == n && $3 == r { print $c }' "$RESULTS"
}
ratio() { # ratio A B: A/B with one decimal and an x, or - when either is missing
    if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; else echo -; fi
}
goal() { # goal RATIO OP LIMIT: "met" or "not met" for a ratio such as 1.93x
    [[ $1 == - ]] && { echo "not measured"; return; }
    awk -v a="${1%x}" -v op="$2" -v l="$3" 'BEGIN { ok = (op == "<=") ? a <= l : a >= l; print ok ? "met" : "not met" }'
}
rtt_name() { if [[ $1 == direct ]]; then echo "direct (no relay)"; else echo "RTT $1 ms (through the lab relay)"; fi; }

echo
echo "seibi bench: the five-task visit, cold, on $HOSTS lab hosts ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
echo "$VERSIONS"
for rtt in "${RTT_LIST[@]}"; do
    echo
    echo "$(rtt_name "$rtt"):"
    printf '%-8s %5s %7s %7s %7s %8s %6s %5s %8s %6s %6s %5s %6s %5s\n' tool hosts "wall s" "client" "fleet" "fleet/h" relay busy complete conn/h chan/h cmd/h chan/t cmd/t
    printf '%-8s %5s %7s %7s %7s %8s %6s\n' "" "" "" "CPU s" "CPU s" "CPU ms" "CPU s"
    for tool in "${TOOL_LIST[@]}"; do
        awk -F'\t' -v t="$tool" -v n="$HOSTS" -v r="$rtt" -v k="$TASKS" '$1 == t && $2 == n && $3 == r {
            printf "%-8s %5d %7.2f %7.2f %7.2f %8.1f %6.2f %4d%% %8s %6.1f %6.1f %5.1f %6.2f %5.2f\n", $1, $2, $4, $7, $9, 1000 * $9 / $2, $11, $10, $8 "/" $2,
                $12 / $2, $13 / $2, $14 / $2, $13 / ($2 * k), $14 / ($2 * k) }' "$RESULTS"
    done
    s_wall=$(lookup seibi "$HOSTS" "$rtt" 4) s_cpu=$(lookup seibi "$HOSTS" "$rtt" 7) s_fleet=$(lookup seibi "$HOSTS" "$rtt" 9)
    p_wall=$(lookup pyinfra "$HOSTS" "$rtt" 4) p_cpu=$(lookup pyinfra "$HOSTS" "$rtt" 7) p_fleet=$(lookup pyinfra "$HOSTS" "$rtt" 9)
    a_wall=$(lookup ansible "$HOSTS" "$rtt" 4) a_cpu=$(lookup ansible "$HOSTS" "$rtt" 7)
    r=$(ratio "$s_fleet" "$p_fleet"); echo "fleet CPU seibi/pyinfra: $r (goal <= 0.7: $(goal "$r" "<=" 0.7))"
    r=$(ratio "$p_wall" "$s_wall"); echo "wall pyinfra/seibi: $r (goal >= 1.8: $(goal "$r" ">=" 1.8))"
    r=$(ratio "$a_wall" "$s_wall"); echo "wall Ansible/seibi: $r (goal >= 25: $(goal "$r" ">=" 25))"
    echo "client CPU pyinfra/seibi: $(ratio "$p_cpu" "$s_cpu"), Ansible/seibi: $(ratio "$a_cpu" "$s_cpu")"
done
echo
echo "client CPU: the tool's whole process tree (cpuacct cgroup); fleet CPU: the hosts' sshd and everything the visit ran there"
echo "(fleet/h: per host); relay CPU: the lab's WAN relay; busy: all cores, all processes, during the run"
echo "conn, chan, cmd: SSH logins, session channels and commands (exec, shell, subsystem) counted in the hosts' sshd logs; /h per host, /t per task ($TASKS tasks)"

if [[ -n $SIZES ]]; then
    echo
    echo "scaling, $(rtt_name "${RTT_LIST[0]}"), one cold run per size:"
    printf '%-8s %6s %8s %13s %13s %12s %13s %8s\n' tool hosts "wall s" "wall ms/host" "client CPU s" "fleet CPU s" "machine busy" "chan/h"
    for tool in "${SCALING_LIST[@]}"; do
        for n in $SIZES; do
            awk -F'\t' -v t="$tool" -v n="$n" -v r="${RTT_LIST[0]}" '$1 == t && $2 == n && $3 == r {
                printf "%-8s %6d %8.2f %13.1f %13.2f %12.2f %12d%% %8.1f\n", $1, $2, $4, 1000 * $4 / $2, $7, $9, $10, $13 / $2 }' "$RESULTS"
        done
    done
fi
