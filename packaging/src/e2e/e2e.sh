#!/bin/bash
# e2e.sh: havn end to end, on real libvirt and QEMU. Three hypervisor hosts made of namespaces
# on this machine (see hosts.sh), one ZooKeeper server, six QEMU guests whose disks every host
# reaches alike (see make_guest), and a havnd on every host; then, each step checked:
#   1. maintenance: host2's guests live-migrate away without a restart, and host2 ends empty;
#   2. with fence devices, host1's havnd stalls (SIGSTOP, 4 s), then restarts cleanly and is back
#      10 s later: host1 is not fenced and its guests run on, counters unbroken (its havn-signal
#      says its watchdog is armed; a stand-in holds the petter's place: no /dev/watchdog here);
#      then every core is kept busy for 30 s from host1's namespace: no fence, no guest restart;
#   3. power loss of host3, with a fence device for every host and then without one (session
#      expiry): host3's guests run again on the others; the time from the power cut to each
#      guest running is measured;
#   4. isolation of host1 (its link goes down, its processes stay): host1 destroys its guests
#      itself, they run again elsewhere, and no two QEMU processes ever hold one disk;
#   5. the leader's /metrics shows the failovers.
#
# Usage: e2e.sh [run|clean]   (as root; clean removes what an interrupted run left behind)
# Environment:
#   HAVN_E2E_JARS          directory holding havnd.jar and havnctl.jar (searched 3 levels deep);
#                          default: the extracted tarball packaging/target/havn-*/, else
#                          ha-daemon/target
#   HAVN_E2E_ZK_CLASSPATH  jars the ZooKeeper server needs besides havnd.jar, if any
#   HAVN_E2E_DIR           the state directory (default /tmp/havn-e2e); removed at the end
#   HAVN_E2E_RESULTS       a file to write the results to, one fact per line
#   HAVN_E2E_LOGS          a directory to copy every daemon's log to before teardown
# Everything it makes is removed at the end, on failure too. Exit status 0 when every step held.
set -eEuo pipefail
trap 'echo "e2e: unexpected failure (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

E2E_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_DIR=${HAVN_E2E_DIR:-/tmp/havn-e2e}
E2E_RESULTS=${HAVN_E2E_RESULTS:-/dev/null}
E2E_JAVA_OPTS=${HAVN_E2E_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}   # small and quick to start: 4 JVMs share the machine
E2E_SIGNAL_JAVA_OPTS="-Xmx32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"   # as havn-signal.service runs it
E2E_START_US=${EPOCHREALTIME/./}
exec {E2E_OUT}>&1 {E2E_ERR}>&2   # the harness's own output, for its report on exit
# shellcheck source=hosts.sh
source "$E2E_HERE/hosts.sh"

GUESTS=(vm1 vm2 vm3 vm4 vm5 vm6)
declare -A MEDIAN=() COUNT=()   # per power-loss path: the median time to running, and the guests timed
GUEST_MIB=64
# The guests' boot sector: it zeroes a counter at 0x7e00, writes "HAVN" at 0x7e04, then halts
# and adds one to the counter at each wake-up (the BIOS timer's 18.2 Hz). The counter is the
# guest's own uptime: a live migration carries it on, a restart starts it at 0 again.
BOOT_SECTOR='\x31\xc0\x8e\xd8\xa3\x00\x7e\xa3\x02\x7e\xc7\x06\x04\x7e\x48\x41\xc7\x06\x06\x7e\x56\x4e\xfb\xf4\x83\x06\x00\x7e\x01\x83\x16\x02\x7e\x00\xeb\xf3'
GUEST_MAGIC=0x4e564148
TIMER_HZ_BOUND=25     # above the BIOS timer's 18.2 wake-ups per second, with a margin

# ---------------------------------------------------------------- output

elapsed() { local n=${EPOCHREALTIME/./}; printf '%6.1fs' "$(( (n - E2E_START_US) / 100000 ))e-1"; }
say() { echo "e2e: [$(elapsed)] $*"; }
result() { echo "$*" >> "$E2E_RESULTS"; }
fail() {
  echo "e2e: [$(elapsed)] FAILED: $*" >&2
  exit 1
}

# Polls CMD every 0.1 s until it succeeds; fails naming DESC after SECONDS.
wait_for() {
  local desc=$1 seconds=$2 deadline
  shift 2
  deadline=$(( ${EPOCHREALTIME/./} + seconds * 1000000 ))
  until "$@" > /dev/null 2>&1; do
    (( ${EPOCHREALTIME/./} < deadline )) || fail "gave up after ${seconds} s waiting for $desc"
    sleep 0.1
  done
}

now_us() { echo "${EPOCHREALTIME/./}"; }
seconds_since() { awk -v a="$1" -v b="${2:-$(now_us)}" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------- the jars and the machine

# The first path find prints for its ARGS, or nothing.
first_found() {
  local out
  out=$(find "$@" 2>/dev/null || true)
  echo "${out%%$'\n'*}"
}

find_jars() {
  local dir=${HAVN_E2E_JARS:-} repo
  repo=$(cd "$E2E_HERE/../../.." && pwd)
  if [ -z "$dir" ]; then
    dir=$(first_found "$repo/packaging/target" -maxdepth 1 -type d -name 'havn-*')
    [ -n "$dir" ] || dir=$repo/ha-daemon/target
  fi
  HAVND_JAR=$(first_found "$dir" -maxdepth 3 -name havnd.jar)
  HAVNCTL_JAR=$(first_found "$dir" -maxdepth 3 -name havnctl.jar)
  [ -n "$HAVND_JAR" ] && [ -n "$HAVNCTL_JAR" ] \
    || fail "no havnd.jar and havnctl.jar under $dir (set HAVN_E2E_JARS, or build: ./mvnw -DskipTests package)"
  E2E_ZK_CLASSPATH=$HAVND_JAR${HAVN_E2E_ZK_CLASSPATH:+:$HAVN_E2E_ZK_CLASSPATH}
  say "jars: $HAVND_JAR, $HAVNCTL_JAR"
}

check_machine() {
  local c missing=()
  [ "$(id -u)" = 0 ] || fail "must run as root (it makes namespaces, links and mounts)"
  for c in ip nsenter unshare losetup setsid flock pgrep libvirtd virtlogd virsh qemu-system-x86_64 qemu-img curl java keytool awk; do
    command -v "$c" > /dev/null || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] || fail "missing commands: ${missing[*]} (Debian: libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils iproute2 procps curl)"
}

# ---------------------------------------------------------------- havn

havnctl() {
  local h=$1
  shift
  java -Xmx128m -XX:+UseSerialGC -jar "$HAVNCTL_JAR" --socket "$(host_dir "$h")/havn/admin.sock" "$@"
}

# Writes HOST's havn.yaml; MODE fence gives every host a fence device, nofence none.
write_config() {
  local h=$1 mode=$2 d ip t
  d=$(host_dir "$h")
  ip=$(host_ip "$h")
  {
    cat <<EOF
cluster: e2e
host: {name: $h, cpus: 8, memoryMiB: 1024, address: "$ip:7405", stateDir: "$d/state"}
zookeeper:
  connect: "$E2E_NET.1:$E2E_ZK_TLS_PORT"
  sessionTimeoutMs: 10000
  tls: {keyStore: "$E2E_DIR/tls/host.p12", keyStorePasswordFile: "$E2E_DIR/tls/store.password",
        trustStore: "$E2E_DIR/tls/truststore.p12", trustStorePasswordFile: "$E2E_DIR/tls/store.password"}
heartbeat: {bind: "$ip:7405", keyFile: "$E2E_DIR/cluster.key"}
libvirt: {uri: "qemu:///system", peerUri: "qemu+tcp://{host}/system", sharedStorage: ["$E2E_DIR/lun"]}
watchdog: {stateFile: "$d/havn/watchdog.state", required: false}
admin: {socket: "$d/havn/admin.sock"}
metrics: {enabled: true, bind: "$ip:9464"}
EOF
    if [ "$mode" = fence ]; then
      echo "fence:"
      echo "  device: fence-$h"
      echo "  devices:"
      for t in "${E2E_HOSTS[@]}"; do
        echo "    fence-$t: {agent: \"$E2E_HERE/fence_havn_e2e\", options: {netns: $(host_netns "$t")${E2E_CGROUP:+, cgroup: \"$E2E_CGROUP/$t\"}}}"
      done
    fi
  } > "$d/havn.yaml"
  java -jar "$HAVND_JAR" --config "$d/havn.yaml" --check-config > /dev/null \
    || fail "havnd refused the config of $h ($d/havn.yaml)"
}

# The sum of the samples of METRIC whose labels match the regular expression LABELS, on HOST.
metric() {
  local h=$1 name=$2 labels=${3:-}
  curl -sf --max-time 2 "http://$(host_ip "$h"):9464/metrics" | awk -v n="$name" -v l="$labels" '
    index($0, n "{") == 1 || index($0, n " ") == 1 { if ($0 ~ l) { s += $NF; found = 1 } }
    END { if (!found) exit 1; printf "%g\n", s }'
}

is_one() { [ "$("$@" 2>/dev/null)" = 1 ]; }

leader() {
  local h
  for h in "${E2E_HOSTS[@]}"; do
    is_one metric "$h" havn_leader && { echo "$h"; return 0; }
  done
  return 1
}

cluster_ready() {
  local h l
  for h in "$@"; do is_one metric "$h" havn_ready || return 1; done
  l=$(leader) || return 1
  [ "$(metric "$l" havn_hosts 'state="live"')" = "${#E2E_HOSTS[@]}" ]
}

wait_ready() { wait_for "havnd ready on ${*} with a leader and every host live" 90 cluster_ready "$@"; }

# Whether HOST's METRIC{LABELS} is VALUE
metric_is() { [ "$(metric "$1" "$3" "${4:-}")" = "$2" ]; }

# Whether the leader's METRIC{LABELS} is VALUE
leader_metric_is() {
  local l
  l=$(leader) || return 1
  [ "$(metric "$l" "$2" "${3:-}")" = "$1" ]
}

leader_counts() {
  local l n
  l=$(leader) || return 1
  n=$(metric "$l" havn_failovers_total "proof=\"$1\"") || return 1
  [ "$n" != 0 ]
}

# ---------------------------------------------------------------- guests

# A guest's disk is a raw image in the shared directory, attached to a loop device that every
# host sees at the same path, $E2E_DIR/lun/NAME: a stand-in for an iSCSI or FC LUN. (A file
# disk would do for havn, but libvirt 9 refuses to live-migrate one unless its filesystem is
# NFS, GFS2, OCFS2, CIFS or Ceph, and this machine's kernel may have none of them.)
make_guest() {
  local name=$1 uuid=$2 img=$E2E_DIR/shared/$1.img dev
  truncate -s "${GUEST_MIB}M" "$img"
  { printf "$BOOT_SECTOR"; head -c $((510 - 36)) /dev/zero; printf '\x55\xaa'; } | dd of="$img" conv=notrunc status=none
  dev=$(losetup --find --show "$img") || fail "no loop device for $img"
  mkdir -p "$E2E_DIR/lun"
  ln -s "$dev" "$E2E_DIR/lun/$name"
  cat > "$E2E_DIR/shared/$name.xml" <<EOF
<domain type='$GUEST_TYPE'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>$GUEST_MIB</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native'/>
      <source dev='$E2E_DIR/lun/$name'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# The guest's counter and magic as "COUNTER MAGIC" (decimal, hex), read from its memory on HOST.
guest_counter() {
  local out addr count magic
  out=$(virsh_in "$1" qemu-monitor-command "$2" --hmp 'xp /2wx 0x7e00') || return 1
  read -r addr count magic <<< "${out//$'\r'/}"
  [[ "$count" =~ ^0x[0-9a-f]+$ ]] || return 1
  echo "$((count)) $magic"
}

# The QEMU processes alive in HOST (a zombie has let go of its disks and its namespaces).
qemu_on() {
  local p ns
  ns=/run/netns/$(host_netns "$1")
  [ -e "$ns" ] || fail "no network namespace $ns"
  for p in $(pgrep -x qemu-system-x86 || true); do
    [[ "/proc/$p/ns/net" -ef "$ns" ]] && echo "$p"
  done
  return 0
}

# No pipeline in this script or hosts.sh has a reader that may stop before its writer ends
# (awk ... exit, head, grep -q or -m, grep > /dev/null, which GNU grep ends at the first match):
# the writer would die of SIGPIPE (status 141), and under pipefail the pipeline fails with it,
# which the ERR trap makes a failed run, or a predicate a wrong answer. The writer's output is
# captured first and then filtered.

# Predicates for wait_for
runs() { local out; out=$(running_on "$1"); grep -x "$2" <<< "$out" > /dev/null; }
runs_nothing() { [ -z "$(running_on "$1")" ]; }
runs_somewhere() { local out; out=$(where_running); grep "^$1 " <<< "$out" > /dev/null; }
host_of() { local out; out=$(where_running); awk -v v="$1" '$1 == v { print $2; exit }' <<< "$out"; }
guest_booted() { local out; out=$(guest_counter "$1" "$2") || return 1; grep " $GUEST_MAGIC\$" <<< "$out" > /dev/null; }

running_on() { virsh_in "$1" list --state-running --name 2>/dev/null | grep . || true; }
where_running() {
  local h
  for h in "${E2E_HOSTS[@]}"; do running_on "$h" | sed "s/\$/ $h/"; done
}

# Asks for VM to be moved to HOST by live migration, and waits until it runs there.
migrate_to() {
  local vm=$1 h=$2 from
  from=$(host_of "$vm")
  havnctl "$from" migrate "$vm" "$h" > /dev/null || fail "havnctl migrate $vm $h was refused"
  wait_for "$vm to run on $h" 60 runs "$h" "$vm"
  # the migration is over for havn too: the source's libvirt let go of the domain and the
  # leader counts no VM migrating, so a fault that follows hits a quiet cluster
  wait_for "$from to let go of $vm" 60 defines_not "$from" "$vm"
  wait_for "the leader to see no migration in flight" 30 leader_metric_is 0 havn_vms 'phase="migrating"'
}

defines_not() {
  local out
  out=$(virsh_in "$1" list --all --name) || return 1
  ! grep -x "$2" <<< "$out" > /dev/null
}

# Makes sure HOST runs at least N guests, migrating others to it.
give_guests() {
  local h=$1 n=$2 vm out
  while [ "$(running_on "$h" | wc -l)" -lt "$n" ]; do
    out=$(where_running)
    vm=$(awk -v h="$h" '$2 != h { print $1; exit }' <<< "$out")
    [ -n "$vm" ] || fail "no guest to move to $h"
    say "moving $vm to $h"
    migrate_to "$vm" "$h"
  done
}

# ---------------------------------------------------------------- the disk-holder sampler

# Samples every ~0.1 s the disks every QEMU process of the machine has open (from their command
# lines) until the file STOP exists; writes "samples N" and one line per disk seen held by two
# processes at once to OUT.
sample_disk_holders() {
  local out=$1 stop=$2 samples=0 p rest path
  local -a args
  local -A holder
  : > "$out.violations"
  # it also stops when the run is gone: its state directory, or the harness itself
  while [ ! -e "$stop" ] && [ -d "$E2E_DIR" ] && kill -0 $$ 2>/dev/null; do
    holder=()
    for p in $(pgrep -x qemu-system-x86 || true); do
      mapfile -d '' -t args 2>/dev/null < "/proc/$p/cmdline" || continue
      rest=${args[*]}
      while [[ $rest =~ \"filename\":\"([^\"]+)\" ]]; do
        path=${BASH_REMATCH[1]}
        rest=${rest#*"${BASH_REMATCH[0]}"}
        if [ -n "${holder[$path]:-}" ]; then
          echo "$(date -u +%T.%3N) $path held by pids ${holder[$path]} and $p" >> "$out.violations"
        fi
        holder[$path]="${holder[$path]:-}${holder[$path]:+,}$p"
      done
    done
    samples=$((samples + 1))
    echo "$samples" > "$out.samples"
    sleep 0.1
  done
}

start_sampler() {
  rm -f "$E2E_DIR/sampler.stop"
  sample_disk_holders "$E2E_DIR/sampler" "$E2E_DIR/sampler.stop" &
  SAMPLER_PID=$!
}

# Stops the sampler; fails if it ever saw one disk held twice. Prints the number of samples.
stop_sampler() {
  local what=$1 n v
  touch "$E2E_DIR/sampler.stop"
  wait "$SAMPLER_PID" || true
  n=$(cat "$E2E_DIR/sampler.samples" 2>/dev/null || echo 0)
  v=$(wc -l < "$E2E_DIR/sampler.violations")
  result "disk-holders step=\"$what\" samples=$n violations=$v"
  [ "$v" -eq 0 ] || fail "$what: a disk was held by two QEMU processes at once: $(head -3 "$E2E_DIR/sampler.violations")"
  [ "$n" -gt 10 ] || fail "$what: the disk-holder sampler took only $n samples"
  say "$what: $n samples of every QEMU's disks, none held twice"
}

# ---------------------------------------------------------------- setup

setup() {
  say "setting up in $E2E_DIR"
  teardown
  mkdir -p "$E2E_DIR/ns" "$E2E_DIR/shared"
  # the namespaces' bind mounts need a mount that is not shared
  mount --bind "$E2E_DIR/ns" "$E2E_DIR/ns"
  mount --make-private "$E2E_DIR/ns"
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$E2E_DIR/cluster.key"
  chmod 600 "$E2E_DIR/cluster.key"

  net_make
  cgroups_make
  zk_start
  local h i=0 vm caps=""
  for h in "${E2E_HOSTS[@]}"; do host_make "$h"; done
  libvirt_start "${E2E_HOSTS[@]}"
  # KVM where libvirt finds it usable, else QEMU's emulator (TCG): slower, the same steps
  caps=$(virsh_in host1 capabilities) || true
  if grep "<domain type='kvm'" <<< "$caps" > /dev/null; then GUEST_TYPE=kvm; else GUEST_TYPE=qemu; fi
  say "hosts up: ${E2E_HOSTS[*]} ($(for h in "${E2E_HOSTS[@]}"; do printf '%s=%s ' "$h" "$(host_ip "$h")"; done)), ZooKeeper on $E2E_NET.1:$E2E_ZK_TLS_PORT (TLS, client certificates); guests on $GUEST_TYPE"

  for vm in "${GUESTS[@]}"; do
    i=$((i + 1))
    h=${E2E_HOSTS[$(( (i - 1) / 2 ))]}
    make_guest "$vm" "$(printf 'e2e00000-0000-4000-8000-%012d' "$i")"
    virsh_in "$h" define "$E2E_DIR/shared/$vm.xml" > /dev/null
    virsh_in "$h" start "$vm" > /dev/null || fail "guest $vm did not start on $h: $(tail -3 "$(host_dir "$h")/log/qemu/$vm.log" 2>/dev/null)"
  done
  for vm in "${GUESTS[@]}"; do
    h=$(host_of "$vm")
    wait_for "guest $vm to boot its counter" 30 guest_booted "$h" "$vm"
  done
  say "guests running: $(where_running | tr '\n' ' ')"

  for h in "${E2E_HOSTS[@]}"; do write_config "$h" fence; done
  for h in "${E2E_HOSTS[@]}"; do havnd_start "$h"; signal_start "$h"; done
  wait_ready "${E2E_HOSTS[@]}"
  say "havnd ready on every host; leader $(leader)"
  for vm in "${GUESTS[@]}"; do
    h=$(host_of "$vm")
    in_host "$h" java -Xmx128m -jar "$HAVNCTL_JAR" --socket "$(host_dir "$h")/havn/admin.sock" \
      vm add "$vm" --config "$(host_dir "$h")/havn.yaml" > /dev/null || fail "havnctl vm add $vm on $h was refused"
  done
  wait_for "the leader to see all ${#GUESTS[@]} HA VMs running" 30 leader_metric_is "${#GUESTS[@]}" havn_vms 'phase="running"'
  say "all ${#GUESTS[@]} guests under HA"
  zk_refuses_strangers
}

# The cluster's znodes are the hosts' alone: a client without their certificate can neither list
# the VM records nor forge a request.
zk_refuses_strangers() {
  local out
  out=$(zk_stranger /havn/e2e/vms /havn/e2e/requests)
  result "zookeeper-acl stranger=\"$(tr '\n' ';' <<< "$out")\""
  grep -x 'zk-stranger: ls /havn/e2e/vms: NOAUTH' <<< "$out" > /dev/null \
    && grep -x 'zk-stranger: create /havn/e2e/requests/forged: NOAUTH' <<< "$out" > /dev/null \
    || fail "a client without the hosts' certificate was not refused: $(tr '\n' ' ' <<< "$out")"
  say "ZooKeeper: a client without the hosts' certificate can neither list the VMs nor post a request"
}

# ---------------------------------------------------------------- step 1: maintenance

step_maintenance() {
  say "step 1: maintenance host2 on"
  local vms vm t1 t2 c1 c2 magic to state took
  local -A before=()
  vms=$(running_on host2)
  [ -n "$vms" ] || fail "host2 runs no guest to migrate"
  for vm in $vms; do
    read -r c1 magic < <(guest_counter host2 "$vm") || fail "cannot read $vm's memory on host2"
    before[$vm]=$c1
  done
  t1=$(now_us)
  havnctl host2 maintenance host2 on > /dev/null || fail "havnctl maintenance host2 on was refused"
  wait_for "host2 to run no guest" 90 runs_nothing host2
  for vm in $vms; do
    wait_for "$vm to run again" 30 runs_somewhere "$vm"
  done
  t2=$(now_us)
  took=$(seconds_since "$t1" "$t2")
  for vm in $vms; do
    to=$(host_of "$vm")
    state=$(virsh_in "$to" domstate "$vm" --reason)
    read -r c2 magic < <(guest_counter "$to" "$vm") || fail "cannot read $vm's memory on $to"
    result "migrated vm=$vm from=host2 to=$to state=\"$state\" counter_before=${before[$vm]} counter_after=$c2 magic=$magic seconds=$took"
    say "  $vm: host2 -> $to, $state, guest counter ${before[$vm]} -> $c2"
    [ "$magic" = "$GUEST_MAGIC" ] || fail "$vm on $to does not run the test's boot sector (magic $magic)"
    case "$state" in
      "running (migrated)"|"running (unpaused)") ;;
      *) fail "$vm on $to is '$state', not running after a migration" ;;
    esac
    # A guest started after t1 could count at most TIMER_HZ_BOUND per second since t1.
    (( c2 >= before[$vm] )) || fail "$vm restarted: its counter went from ${before[$vm]} to $c2"
    (( before[$vm] > TIMER_HZ_BOUND * (t2 - t1) / 1000000 )) \
      || fail "$vm's counter (${before[$vm]}) is too young to tell a migration from a restart over ${took} s"
  done
  result "drained host=host2 running=$(running_on host2 | wc -l)"
  [ -z "$(running_on host2)" ] || fail "host2 still runs $(running_on host2)"
  say "host2 is empty; its guests migrated live in ${took} s"
  havnctl host2 maintenance host2 off > /dev/null || fail "havnctl maintenance host2 off was refused"
  wait_for "host2 out of maintenance" 30 leader_metric_is 0 havn_hosts 'state="maintenance"'
  say "step 1 passed"
}

# ---------------------------------------------------------------- step 2: a stalled or restarting havnd

# How many decisions of KIND (fence_start, hold_off, ...) the hosts other than HOST made (HOST
# cannot fence itself; its own counters start again with its daemon).
decisions_by_others() {
  local h n total=0
  for h in "${E2E_HOSTS[@]}"; do
    [ "$h" = "$1" ] && continue
    n=$(metric "$h" havn_decisions_total "kind=\"$2\"") || n=0
    total=$((total + ${n%.*}))
  done
  echo "$total"
}

fences_by_others() { decisions_by_others "$1" fence_start; }
hold_offs_by_others() { decisions_by_others "$1" hold_off; }

hold_offs_above() { (( $(hold_offs_by_others "$1") > $2 )); }

# After WHAT happened to HOST's havnd: HOST was neither fenced nor reset, its havnd did not
# self-fence, it runs VMS still, no guest started again (its counter only grew), and its peers
# held off because of its signal (more hold-offs than HOLDS).
check_kept() {
  local h=$1 vms=$2 fences=$3 holds=$4 what=$5 vm c2 magic
  local -n kept_counters=$6
  local self
  fence_host "$h" status > /dev/null || fail "$what: $h was powered off"
  [ "$(fences_by_others "$h")" = "$fences" ] || fail "$what: a fence of $h was started"
  self=$(metric "$h" havn_self_fences_total) || self=0
  [ "${self%.*}" = 0 ] || fail "$what: $h's havnd self-fenced"
  # HOLDS "-": nobody needed to hold off (its havnd was never suspected). Waited for: a scrape of
  # /metrics that times out on a busy machine counts nothing.
  [ "$holds" = - ] || wait_for "$what: a peer to have held off on $h's signal" 15 hold_offs_above "$h" "$holds"
  for vm in $vms; do
    runs "$h" "$vm" || fail "$what: $vm no longer runs on $h"
    read -r c2 magic < <(guest_counter "$h" "$vm") || fail "cannot read $vm's memory on $h"
    (( c2 >= kept_counters[$vm] )) || fail "$what: $vm restarted: its counter went from ${kept_counters[$vm]} to $c2"
    result "kept what=\"$what\" vm=$vm host=$h counter_before=${kept_counters[$vm]} counter_after=$c2"
    say "  $vm still on $h, guest counter ${kept_counters[$vm]} -> $c2"
    kept_counters[$vm]=$c2
  done
}

# With fence devices: host1's havnd stalls (SIGSTOP) for 4 s, then is restarted cleanly (SIGTERM, as
# systemctl restart) and comes back 10 s later, longer than its lease. Each time its peers suspect
# it, its signal says its watchdog is armed, nobody fences it, and its guests run on.
step_stalls() {
  say "step 2: a stalled havnd, then a planned restart, with fence devices"
  local vms vm c1 magic pid fences holds
  local -A counters=()
  give_guests host1 2
  vms=$(running_on host1 | paste -sd' ')
  for vm in $vms; do
    read -r c1 magic < <(guest_counter host1 "$vm") || fail "cannot read $vm's memory on host1"
    counters[$vm]=$c1
  done
  fences=$(fences_by_others host1)
  holds=$(hold_offs_by_others host1)
  pid=$(cat "$(host_dir host1)/havnd.pid")
  say "host1 runs $vms; its havnd stops (SIGSTOP) for 4 s"
  kill -STOP "$pid"
  sleep 4
  kill -CONT "$pid"
  wait_ready "${E2E_HOSTS[@]}"
  check_kept host1 "$vms" "$fences" "$holds" "a 4 s stall" counters
  holds=$(hold_offs_by_others host1)
  say "host1's havnd restarts cleanly and is back 10 s later"
  havnd_stop host1
  sleep 10
  havnd_start host1
  wait_ready "${E2E_HOSTS[@]}"
  check_kept host1 "$vms" "$fences" "$holds" "a planned restart of 10 s" counters
  saturate host1 30
  check_kept host1 "$vms" "$fences" - "every core busy for 30 s" counters
  say "step 2 passed"
}

# Keeps every core of the machine busy for SECONDS with processes in HOST's namespaces, at the
# default priority: as guests or a runaway job of the host would.
saturate() {
  local h=$1 s=$2 n i pids=()
  n=$(nproc)
  say "every core busy for $s s: $n spinning processes in $h"
  for ((i = 0; i < n; i++)); do
    ( cgroup_join "$h" && exec nsenter --net="/run/netns/$(host_netns "$h")" -- timeout "$s" bash -c 'while :; do :; done' ) &
    pids+=($!)
  done
  wait "${pids[@]}" || true
}

# ---------------------------------------------------------------- step 3: power loss

# Cuts host3's power and measures, for each of its guests, the time until it runs elsewhere.
power_loss() {
  local run=$1 vms vm t0 h left deadline times=()
  local -A seen=()
  give_guests host3 2
  vms=$(running_on host3 | paste -sd' ')
  say "power loss of host3 ($run path): it runs $vms"
  start_sampler
  t0=$(now_us)
  fence_host host3 off > /dev/null
  deadline=$((t0 + 90 * 1000000))
  left=$(wc -w <<< "$vms")
  while [ "$left" -gt 0 ]; do
    (( $(now_us) < deadline )) || fail "$run path: after 90 s, still not running elsewhere: $(for vm in $vms; do [ -n "${seen[$vm]:-}" ] || printf '%s ' "$vm"; done)"
    for h in host1 host2; do
      for vm in $(running_on "$h"); do
        if [[ " $vms " == *" $vm "* ]] && [ -z "${seen[$vm]:-}" ]; then
          seen[$vm]=$(seconds_since "$t0")
          left=$((left - 1))
          result "recovered path=$run vm=$vm on=$h seconds=${seen[$vm]}"
          say "  $vm running on $h ${seen[$vm]} s after the power cut"
          times+=("${seen[$vm]}")
        fi
      done
    done
    sleep 0.1
  done
  stop_sampler "power loss ($run path)"
  for vm in $vms; do
    h=$(host_of "$vm")
    wait_for "$vm to boot on $h" 30 guest_booted "$h" "$vm"
  done
  MEDIAN[$run]=$(median <<< "${times[*]}")
  COUNT[$run]=${#times[@]}
}

# Brings host3 back from its power cut: link up, libvirt, havnd; it must rejoin empty.
power_on_host3() {
  fence_host host3 status > /dev/null && fail "host3 is still on after its power cut"
  link_set host3 up
  libvirt_start host3
  havnd_start host3
  signal_start host3
  wait_ready "${E2E_HOSTS[@]}"
  [ -z "$(running_on host3)" ] || fail "host3 came back running $(running_on host3)"
  say "host3 is back, empty"
}

# The failovers the leader counts, for PROOF (fence_device, session_expired).
failover_metrics() {
  local proof=$1 l total count
  l=$(leader) || fail "no leader"
  total=$(metric "$l" havn_failovers_total "proof=\"$proof\"") || total=0
  count=$(metric "$l" havn_failover_phase_seconds_count "proof=\"$proof\"") || count=0
  result "metrics leader=$l proof=$proof failovers_total=$total phase_seconds_count=$count"
  say "  leader $l /metrics: havn_failovers_total{proof=\"$proof\"} $total, havn_failover_phase_seconds_count{proof=\"$proof\"} $count"
  awk -v t="$total" -v c="$count" 'BEGIN { exit !(t > 0 && c > 0) }' \
    || fail "the leader's /metrics shows no failover with proof $proof"
}

step_power_loss() {
  say "step 3: power loss of host3, with fence devices"
  power_loss fence
  wait_for "the leader to count the failovers" 20 leader_counts fence_device
  failover_metrics fence_device
  power_on_host3

  say "step 3: without fence devices (session expiry)"
  # Every havnd stops at once and starts again with its new config. One at a time would not do:
  # a daemon silent for longer than the failure detector's ~2 s looks dead, and a leader with a
  # fence device for its host powers it off.
  local h
  for h in "${E2E_HOSTS[@]}"; do write_config "$h" nofence; done
  havnd_stop "${E2E_HOSTS[@]}"
  for h in "${E2E_HOSTS[@]}"; do havnd_start "$h"; done
  wait_ready "${E2E_HOSTS[@]}"
  say "havnd restarted on every host, without fence devices; leader $(leader)"
  # A restart longer than the lease (6 s from the last confirmation) makes the new daemon
  # self-fence and the leader restart its guests, by design; three JVMs starting at once on a
  # small machine can take that long. Not a failure here, but said.
  for h in "${E2E_HOSTS[@]}"; do
    if [ "$(metric "$h" havn_self_fences_total)" != 0 ]; then
      result "restart-self-fenced host=$h"
      say "  note: $h's havnd took longer than its lease to come back and self-fenced; its guests were restarted"
    fi
  done
  wait_for "the leader to see all ${#GUESTS[@]} HA VMs running" 30 leader_metric_is "${#GUESTS[@]}" havn_vms 'phase="running"'
  power_loss expiry
  power_on_host3
  say "step 3 passed"
}

# ---------------------------------------------------------------- step 4: isolation

step_isolation() {
  say "step 4: isolation of host1"
  local vms vm t0 h deadline left selffenced=""
  local -A seen=()
  give_guests host1 2
  vms=$(running_on host1 | paste -sd' ')
  say "host1 runs $vms; its link goes down, its processes stay"
  start_sampler
  t0=$(now_us)
  link_set host1 down
  deadline=$((t0 + 90 * 1000000))
  left=$(wc -w <<< "$vms")
  while [ "$left" -gt 0 ] || [ -z "$selffenced" ]; do
    (( $(now_us) < deadline )) || fail "isolation: after 90 s: self-fenced ${selffenced:-no}; not running elsewhere: $(for vm in $vms; do [ -n "${seen[$vm]:-}" ] || printf '%s ' "$vm"; done)"
    if [ -z "$selffenced" ] && [ -z "$(qemu_on host1)" ]; then
      selffenced=$(seconds_since "$t0")
      result "selffenced host=host1 seconds=$selffenced"
      say "  host1 destroyed its guests itself ${selffenced} s after losing its link"
      # the design's bound: lease (6 s) plus watchdog (3 s), below the session timeout (10 s)
      awk -v s="$selffenced" 'BEGIN { exit !(s < 9) }' || fail "host1 self-fenced only after $selffenced s (lease + watchdog: 9 s)"
    fi
    for h in host2 host3; do
      for vm in $(running_on "$h"); do
        if [[ " $vms " == *" $vm "* ]] && [ -z "${seen[$vm]:-}" ]; then
          seen[$vm]=$(seconds_since "$t0")
          left=$((left - 1))
          [ -n "$selffenced" ] || fail "$vm runs on $h while host1 still runs guests"
          result "recovered path=isolation vm=$vm on=$h seconds=${seen[$vm]}"
          say "  $vm running on $h ${seen[$vm]} s after the isolation"
        fi
      done
    done
    sleep 0.1
  done
  pgrep -f "havnd.jar --config $(host_dir host1)/havn.yaml" > /dev/null || fail "host1's havnd died during its isolation"
  stop_sampler "isolation"
  link_set host1 up
  wait_ready "${E2E_HOSTS[@]}"
  # a confirmation in a new session clears havn_self_fenced; the counter keeps what happened
  wait_for "host1 to confirm a new session" 30 metric_is host1 0 havn_self_fenced
  result "rejoined host=host1 self_fences_total=$(metric host1 havn_self_fences_total)"
  for vm in $vms; do
    runs host1 "$vm" && fail "host1 runs $vm again after rejoining"
  done
  say "host1 rejoined; step 4 passed"
}

# ---------------------------------------------------------------- step 5: metrics

step_metrics() {
  say "step 5: the leader's /metrics"
  failover_metrics session_expired
  say "step 5 passed"
}

# ---------------------------------------------------------------- main

on_exit() {
  local rc=$? f
  trap - EXIT
  # a signal may land inside a function whose output is redirected (to /dev/null, say): the
  # report and the teardown's messages go to the harness's own output
  exec 1>&"$E2E_OUT" 2>&"$E2E_ERR"
  [ -z "${SAMPLER_PID:-}" ] || kill "$SAMPLER_PID" 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ -d "$E2E_DIR" ]; then
    echo "e2e: the last lines of the daemons' logs:" >&2
    for f in "$E2E_DIR"/host*/havnd.log "$E2E_DIR"/host*/log/libvirtd.log "$E2E_DIR"/zk/zk.log; do
      [ -f "$f" ] || continue
      echo "---- $f" >&2
      tail -n 25 "$f" >&2
    done
  fi
  if [ -n "${HAVN_E2E_LOGS:-}" ] && [ -d "$E2E_DIR" ]; then
    mkdir -p "$HAVN_E2E_LOGS"
    (cd "$E2E_DIR" && find . \( -name '*.log' -o -name '*.out' -o -name '*.yaml' \) -exec cp --parents {} "$HAVN_E2E_LOGS" \;) || true
  fi
  teardown
  say "cleaned up"
  exit "$rc"
}

main() {
  local cmd=${1:-run}
  case "$cmd" in
    run|clean) ;;
    *) echo "usage: e2e.sh [run|clean]" >&2; exit 2 ;;
  esac
  [ "$(id -u)" = 0 ] || fail "must run as root (it makes namespaces, links and mounts)"
  exec 9> /run/lock/havn-e2e.lock
  flock -w 600 9 || fail "another e2e run holds /run/lock/havn-e2e.lock"
  if [ "$cmd" = clean ]; then
    teardown
    say "cleaned up"
    return 0
  fi
  : > "$E2E_RESULTS"
  check_machine
  find_jars
  trap on_exit EXIT
  trap 'exit 130' INT TERM
  setup
  step_maintenance
  step_stalls
  step_power_loss
  step_isolation
  step_metrics
  result "summary fence_median=${MEDIAN[fence]} fence_n=${COUNT[fence]} expiry_median=${MEDIAN[expiry]} expiry_n=${COUNT[expiry]}"
  echo "e2e: power loss -> VM running: fence path median ${MEDIAN[fence]} s (n=${COUNT[fence]}), expiry path median ${MEDIAN[expiry]} s (n=${COUNT[expiry]})"
  say "all steps passed"
}

# sourced (to use its functions by hand), it runs nothing
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
