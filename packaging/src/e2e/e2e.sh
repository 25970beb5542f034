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
#   4. isolation of host1 (it loses the network but for its path to the storage, its processes
#      stay): host1 destroys its guests itself, they run again elsewhere, and no two QEMU
#      processes ever hold one disk;
#   5. storage outage: the iSCSI target serves none of its LUNs for 20 s; every guest pauses on
#      an I/O error and, once the LUNs are back, runs on where it was, its counter unbroken;
#   6. storage path loss: the host running the most guests loses its path to the target (and only
#      that) for 30 s; no disk is ever held twice, and every guest runs at the end;
#   7. the leader's /metrics shows the failovers.
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
#   HAVN_E2E_MANUAL_RESUME 1: after a storage fault, the harness resumes with virsh the guests
#                          still paused (until havnd resumes them itself); else it waits for them
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
# The guests' boot sector, assembled from boot.S beside this script (real mode, 16-bit code):
# it zeroes a counter at 0x7e00, writes "HAVN" at 0x7e04, then halts, and at each wake-up adds to
# the counter the BIOS timer's ticks (18.2 Hz, its count at 0x46c) since the last one, and every
# 8 ticks (~0.44 s) reads sector 2 of its own disk (BIOS int 13h, drive 0x80) and writes it back: the
# dword at 0x7e08 counts those round trips, the one at 0x7e0c the int 13h calls that failed. The
# counter is the guest's own uptime: a live migration carries it on, a restart starts it at 0
# again; the disk I/O makes a storage outage reach the guest, as it would a real one.
BOOT_SECTOR='\xfa\x31\xc0\x8e\xd8\x8e\xc0\x8e\xd0\xbc\x00\x7c\x66\x31\xc0\x66\xa3\x00\x7e\x66\xc7\x06\x04\x7e\x48\x41\x56\x4e\x66\xa3\x08\x7e\x66\xa3\x0c\x7e\x66\xa1\x6c\x04\x66\xa3\x10\x7e\xfb\xf4\x66\xa1\x6c\x04\x66\x89\xc2\x66\x2b\x06\x10\x7e\x73\x06\x66\x05\xb0\x00\x18\x00\x66\x85\xc0\x74\xe6\x66\x89\x16\x10\x7e\x66\x8b\x0e\x00\x7e\x66\x01\x06\x00\x7e\x66\x33\x0e\x00\x7e\x66\xc1\xe9\x03\x74\xcc\xb8\x01\x02\xe8\x18\x00\x72\x0f\xb8\x01\x03\xe8\x10\x00\x72\x07\x66\xff\x06\x08\x7e\xeb\xb5\x66\xff\x06\x0c\x7e\xeb\xae\xb9\x02\x00\xba\x80\x00\xbb\x00\x80\xcd\x13\xc3'
BOOT_SECTOR_BYTES=139
GUEST_MAGIC=0x4e564148
QEMU_ISCSI_MODULE=/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so
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
  for c in ip nft nsenter unshare setsid flock pgrep libvirtd virtlogd virsh qemu-system-x86_64 qemu-img tgtd tgtadm curl java keytool awk; do
    command -v "$c" > /dev/null || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] || fail "missing commands: ${missing[*]} (Debian: libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils qemu-block-extra tgt iproute2 nftables procps curl)"
  # QEMU's iSCSI initiator, a module of its own
  [ -e "$QEMU_ISCSI_MODULE" ] || fail "QEMU has no iSCSI block driver ($QEMU_ISCSI_MODULE; Debian: qemu-block-extra)"
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
libvirt: {uri: "qemu:///system", peerUri: "qemu+tcp://{host}/system"}
watchdog: {stateFile: "$d/havn/watchdog.state", required: false}
admin: {socket: "$d/havn/admin.sock"}
metrics: {enabled: true, bind: "$ip:9464"}
storage:
  hosts: [$(IFS=,; echo "${E2E_HOSTS[*]}" | sed 's/,/, /g')]
  datastores:
    - {name: $E2E_DATASTORE, url: "iscsi://$E2E_NET.1:$E2E_ISCSI_PORT/$E2E_IQN/$HEARTBEAT_LUN"}
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

# A guest's disk is LUN N of the test's iSCSI target (see tgt_start), N its place in GUESTS, over
# a raw image in $E2E_DIR/shared: every host reaches it over the network, as it would a SAN's LUN,
# and QEMU opens it with its own iSCSI initiator (libiscsi: no kernel module). The last LUN,
# HEARTBEAT_LUN, is no guest's: a small one for a storage heartbeat.
HEARTBEAT_LUN=$(( ${#GUESTS[@]} + 1 ))
HEARTBEAT_MIB=8
# The datastore the guests' LUNs make up, by the name havnd's storage heartbeat and the VMs give it:
# every havnd writes its slot on the heartbeat LUN through qemu-io (QEMU's own iSCSI initiator, the
# guests' path to the target) and reads the others'
E2E_DATASTORE=e2e-san

guest_lun() {
  local i
  for i in "${!GUESTS[@]}"; do
    [ "${GUESTS[$i]}" = "$1" ] && { echo $((i + 1)); return 0; }
  done
  return 1
}

# The raw images behind the LUNs, in LUN order (E2E_LUN_IMAGES), each guest's with its boot sector.
make_disks() {
  local vm img
  E2E_LUN_IMAGES=()
  for vm in "${GUESTS[@]}"; do
    img=$E2E_DIR/shared/$vm.img
    truncate -s "${GUEST_MIB}M" "$img"
    { printf "$BOOT_SECTOR"; head -c $((510 - BOOT_SECTOR_BYTES)) /dev/zero; printf '\x55\xaa'; } \
      | dd of="$img" conv=notrunc status=none
    E2E_LUN_IMAGES+=("$img")
  done
  truncate -s "${HEARTBEAT_MIB}M" "$E2E_DIR/shared/heartbeat.img"
  E2E_LUN_IMAGES+=("$E2E_DIR/shared/heartbeat.img")
}

# The guest's domain XML: its disk a network disk, the guest's LUN. An I/O error pauses the guest
# (error_policy, rerror_policy) rather than reaching it: it runs on where it stood once the
# storage answers again and it is resumed.
make_guest() {
  local name=$1 uuid=$2 lun
  lun=$(guest_lun "$name") || fail "$name is no guest of this test"
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
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw' cache='none' error_policy='stop' rerror_policy='stop'/>
      <source protocol='iscsi' name='$E2E_IQN/$lun'>
        <host name='$E2E_NET.1' port='$E2E_ISCSI_PORT'/>
      </source>
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
# lines: a file or device's "filename", an iSCSI LUN's "target" and "lun" in its -blockdev) until
# the file STOP exists; writes "samples N" and one line per disk seen held by two processes at
# once to OUT.
sample_disk_holders() {
  local out=$1 stop=$2 samples=0 p path blockdev
  local -a args
  local -A holder
  : > "$out.violations"
  # it also stops when the run is gone: its state directory, or the harness itself
  while [ ! -e "$stop" ] && [ -d "$E2E_DIR" ] && kill -0 $$ 2>/dev/null; do
    holder=()
    for p in $(pgrep -x qemu-system-x86 || true); do
      mapfile -d '' -t args 2>/dev/null < "/proc/$p/cmdline" || continue
      for blockdev in "${args[@]}"; do
        [[ $blockdev == "{"* ]] || continue
        path=""
        if [[ $blockdev =~ \"filename\":\"([^\"]+)\" ]]; then
          path=${BASH_REMATCH[1]}
        elif [[ $blockdev == *'"driver":"iscsi"'* && $blockdev =~ \"target\":\"([^\"]+)\" ]]; then
          path=iscsi:${BASH_REMATCH[1]}
          [[ $blockdev =~ \"lun\":([0-9]+) ]] && path=$path/${BASH_REMATCH[1]}
        fi
        [ -n "$path" ] || continue
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
  make_disks
  tgt_start
  say "iSCSI target $E2E_IQN on $E2E_NET.1:$E2E_ISCSI_PORT (tgtd): LUNs 1-${#GUESTS[@]} the guests' disks, $HEARTBEAT_LUN the heartbeat LUN (${HEARTBEAT_MIB} MiB)"
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
      vm add "$vm" --config "$(host_dir "$h")/havn.yaml" --datastore "$E2E_DATASTORE" > /dev/null \
      || fail "havnctl vm add $vm on $h was refused"
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
  say "host1 runs $vms; it loses the network but for its storage path, its processes stay"
  start_sampler
  t0=$(now_us)
  host_isolate host1 || fail "could not cut host1 off (nft)"
  deadline=$((t0 + 90 * 1000000))
  left=$(wc -w <<< "$vms")
  while [ "$left" -gt 0 ] || [ -z "$selffenced" ]; do
    (( $(now_us) < deadline )) || fail "isolation: after 90 s: self-fenced ${selffenced:-no}; not running elsewhere: $(for vm in $vms; do [ -n "${seen[$vm]:-}" ] || printf '%s ' "$vm"; done)"
    if [ -z "$selffenced" ] && [ -z "$(qemu_on host1)" ]; then
      selffenced=$(seconds_since "$t0")
      result "selffenced host=host1 seconds=$selffenced"
      say "  host1 destroyed its guests itself ${selffenced} s after losing the network"
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
  host_rejoin host1 || fail "could not give host1 its network back"
  wait_ready "${E2E_HOSTS[@]}"
  # a confirmation in a new session clears havn_self_fenced; the counter keeps what happened
  wait_for "host1 to confirm a new session" 30 metric_is host1 0 havn_self_fenced
  result "rejoined host=host1 self_fences_total=$(metric host1 havn_self_fences_total)"
  for vm in $vms; do
    runs host1 "$vm" && fail "host1 runs $vm again after rejoining"
  done
  say "host1 rejoined; step 4 passed"
}

# ---------------------------------------------------------------- steps 5 and 6: storage faults

# Until havnd resumes the guests that paused on an I/O error once their storage answers again,
# HAVN_E2E_MANUAL_RESUME=1 has the harness resume with virsh those still paused when the storage
# is back; otherwise it waits for them to run (STORAGE_BACK_WAIT_S), whoever resumes them.
MANUAL_RESUME=${HAVN_E2E_MANUAL_RESUME:-0}
STORAGE_OUTAGE_S=20      # how long the target serves none of its LUNs
PATH_LOSS_S=30           # how long one host's path to the target is cut
STORAGE_BACK_WAIT_S=30   # how long every guest may take to run and do disk I/O again after that
declare -A GUEST_HOST=() FIRST_PAUSE=() PAUSE_REASON=() PAUSES=() RESUMES=() LAST_SEEN=() RESUMED_BY=() IO_AGAIN=()

# "HOST VM STATE" for each active domain of each host (STATE as virsh list says it: running, paused...)
active_states() {
  local h out
  for h in "${E2E_HOSTS[@]}"; do
    out=$(virsh_in "$h" list 2>/dev/null) || continue
    awk -v h="$h" 'NF >= 3 { print h, $2, $3 }' <<< "$out"
  done
}

# The guest's "COUNTER MAGIC IO ERRORS" (see boot.S), read from its memory on HOST.
guest_io() {
  local out addr count magic io errors
  out=$(virsh_in "$1" qemu-monitor-command "$2" --hmp 'xp /4wx 0x7e00') || return 1
  read -r addr count magic io errors <<< "${out//$'\r'/}"
  [[ "$errors" =~ ^0x[0-9a-f]+$ ]] || return 1
  echo "$((count)) $magic $((io)) $((errors))"
}

# Every host's libvirt lifecycle events (suspended, resumed...), with libvirt's timestamps, into
# $E2E_DIR/events/HOST.log until events_stop: when a guest paused, and how often something resumed
# it, which a poll of its state would miss.
events_start() {
  local h
  mkdir -p "$E2E_DIR/events"
  for h in "${E2E_HOSTS[@]}"; do
    : > "$E2E_DIR/events/$h.log"
    spawn "$h" "$E2E_DIR/events/$h.log" "$E2E_DIR/events/$h.pid" nsenter --net="/run/netns/$(host_netns "$h")" \
      --mount="$E2E_DIR/ns/$h.mnt" --uts="$E2E_DIR/ns/$h.uts" -- virsh -q -c qemu:///system event --loop --timestamp --event lifecycle
  done
}
events_stop() {
  local h
  for h in "${E2E_HOSTS[@]}"; do kill "$(cat "$E2E_DIR/events/$h.pid")" 2>/dev/null || true; done
}

# From the events: VM's first pause on an I/O error (FIRST_PAUSE, seconds after T0), how often
# it paused on one (PAUSES) and how often it was resumed (RESUMES).
storage_events() {
  local vm=$1 t0=$2 lines first
  lines=$(cat "$E2E_DIR"/events/*.log 2>/dev/null | grep "for domain '$vm': " || true)
  PAUSES[$vm]=$(grep -c "Suspended I/O Error" <<< "$lines" || true)
  RESUMES[$vm]=$(grep -c "Resumed" <<< "$lines" || true)
  first=$(grep "Suspended I/O Error" <<< "$lines" | sort | awk 'NR == 1 { print $1, $2 }' || true)
  FIRST_PAUSE[$vm]=
  [ -z "$first" ] || FIRST_PAUSE[$vm]=$(seconds_since "$t0" "$(date -d "${first%:}" +%s%6N)")
}

# Forgets what the last storage step saw; records where each of VMS runs, in GUEST_HOST.
storage_watch_start() {
  local vm h
  GUEST_HOST=() FIRST_PAUSE=() PAUSE_REASON=() PAUSES=() RESUMES=() LAST_SEEN=() RESUMED_BY=() IO_AGAIN=()
  for vm in "$@"; do
    h=$(host_of "$vm")
    [ -n "$h" ] || fail "$vm runs nowhere"
    GUEST_HOST[$vm]=$h
    LAST_SEEN[$vm]=running
  done
}

# Watches VMS until the time UNTIL (microseconds): libvirt's reason the first time each is seen
# paused (PAUSE_REASON), and the state each was last seen in (LAST_SEEN).
storage_watch() {
  local t0=$1 until=$2 out vm st
  shift 2
  while (( $(now_us) < until )); do
    out=$(active_states)
    for vm in "$@"; do
      st=$(awk -v v="$vm" '$2 == v { print $3 }' <<< "$out")
      st=${st:-gone}
      if [ "$st" = paused ] && [ -z "${PAUSE_REASON[$vm]:-}" ]; then
        PAUSE_REASON[$vm]=$(virsh_in "${GUEST_HOST[$vm]}" domstate "$vm" --reason 2>/dev/null || echo unknown)
        say "  $vm on ${GUEST_HOST[$vm]}: ${PAUSE_REASON[$vm]}"
      fi
      LAST_SEEN[$vm]=$st
    done
    sleep 0.1
  done
}

# After the storage fault WHAT ended at T1: waits until every guest of VMS runs again, resuming
# those still paused only where HAVN_E2E_MANUAL_RESUME=1 (RESUMED_BY: harness), and until each
# does disk I/O again (IO_AGAIN: seconds after T1, as first seen); fails naming those that do not
# in time.
storage_back() {
  local what=$1 t1=$2 deadline vm h st states c m io e
  local -a left
  local -A io_at=()
  shift 2
  for vm in "$@"; do
    if read -r c m io e < <(guest_io "${GUEST_HOST[$vm]}" "$vm"); then io_at[$vm]=$io; else io_at[$vm]=-1; fi
  done
  deadline=$(( t1 + STORAGE_BACK_WAIT_S * 1000000 ))
  while :; do
    left=()
    states=$(active_states)
    for vm in "$@"; do
      [ -n "${IO_AGAIN[$vm]:-}" ] && continue
      h=${GUEST_HOST[$vm]}
      st=$(awk -v h="$h" -v v="$vm" '$1 == h && $2 == v { print $3 }' <<< "$states")
      if [ "$st" = running ]; then
        if read -r c m io e < <(guest_io "$h" "$vm") && (( io > io_at[$vm] )); then
          IO_AGAIN[$vm]=$(seconds_since "$t1")
          continue
        fi
        st="running, no disk I/O yet"
      elif [ "$MANUAL_RESUME" = 1 ] && [ "$st" = paused ] && virsh_in "$h" resume "$vm" > /dev/null 2>&1; then
        RESUMED_BY[$vm]=harness
        say "  $vm on $h was paused; resumed with virsh (HAVN_E2E_MANUAL_RESUME=1) $(seconds_since "$t1") s after the storage came back"
      fi
      left+=("$vm on $h: ${st:-not active}")
    done
    [ ${#left[@]} -eq 0 ] && return 0
    (( $(now_us) < deadline )) || fail "$what: ${STORAGE_BACK_WAIT_S} s after the storage came back: $(IFS=';'; echo "${left[*]}")$([ "$MANUAL_RESUME" = 1 ] || echo " (nothing resumed the paused ones; HAVN_E2E_MANUAL_RESUME=1 has the harness resume them)")"
    sleep 0.1
  done
}

# The facts of one guest after a storage fault that started at T0: KIND, then what it did, and
# whether it runs on its host with its boot counter carried on (CONTINUED yes), not started again.
storage_result() {
  local kind=$1 vm=$2 t0=$3 c1=$4 extra=$5 h c2 magic io e st
  h=${GUEST_HOST[$vm]}
  storage_events "$vm" "$t0"
  st=$(virsh_in "$h" domstate "$vm" --reason 2>/dev/null) || st="not on $h"
  read -r c2 magic io e < <(guest_io "$h" "$vm") || fail "cannot read $vm's memory on $h"
  CONTINUED=no
  if [ "$magic" = "$GUEST_MAGIC" ] && (( c2 >= c1 )); then CONTINUED=yes; fi
  result "$kind vm=$vm host=$h paused=$([ "${PAUSES[$vm]}" -gt 0 ] && echo yes || echo no) pause_reason=\"${PAUSE_REASON[$vm]:-}\" paused_after=${FIRST_PAUSE[$vm]} pauses=${PAUSES[$vm]} resumes=${RESUMES[$vm]} $extra resumed_by=$([ "${PAUSES[$vm]}" -gt 0 ] && echo "${RESUMED_BY[$vm]:-other}" || echo none) state_after=\"$st\" io_again_after=${IO_AGAIN[$vm]} counter_before=$c1 counter_after=$c2 magic=$magic io_errors=$e continued=$CONTINUED"
  say "  $vm on $h: $([ "${PAUSES[$vm]}" -gt 0 ] && echo "paused on an I/O error ${FIRST_PAUSE[$vm]} s after the fault (${PAUSE_REASON[$vm]:-not seen by a poll}), ${PAUSES[$vm]} time(s), resumed ${RESUMES[$vm]} time(s)$([ -n "${RESUMED_BY[$vm]:-}" ] && echo ", the last by the harness")" || echo "never paused"); now $st, disk I/O again ${IO_AGAIN[$vm]} s after the storage came back; guest counter $c1 -> $c2$([ "$CONTINUED" = yes ] || echo " (STARTED AGAIN)")"
}

# The target serves none of its LUNs for STORAGE_OUTAGE_S, then serves them again: every guest
# pauses on an I/O error (its disk's error policy is stop), and after the outage runs on where it
# was, its boot counter carried on, and does disk I/O again.
step_storage_outage() {
  say "step 5: storage outage: the target serves none of its LUNs for ${STORAGE_OUTAGE_S} s"
  local vm t0 t1 c1 magic io e paused=0 continued=0
  local -A before=()
  events_start
  storage_watch_start "${GUESTS[@]}"
  for vm in "${GUESTS[@]}"; do
    read -r c1 magic io e < <(guest_io "${GUEST_HOST[$vm]}" "$vm") || fail "cannot read $vm's memory on ${GUEST_HOST[$vm]}"
    before[$vm]=$c1
  done
  start_sampler
  t0=$(now_us)
  tgt_luns_remove
  storage_watch "$t0" $(( t0 + STORAGE_OUTAGE_S * 1000000 )) "${GUESTS[@]}"
  # the heartbeat LUN went too: every havnd says it lost the datastore (an alarm; nobody is fenced)
  local n lost=0
  for n in "${E2E_HOSTS[@]}"; do
    [ "$(metric "$n" havn_datastore_reachable "datastore=\"$E2E_DATASTORE\"" 2>/dev/null)" = 0 ] && lost=$((lost + 1))
  done
  say "$lost of ${#E2E_HOSTS[@]} havnds report datastore $E2E_DATASTORE lost"
  [ "$lost" = "${#E2E_HOSTS[@]}" ] || fail "storage outage: only $lost of ${#E2E_HOSTS[@]} havnds report datastore $E2E_DATASTORE lost after ${STORAGE_OUTAGE_S} s"
  tgt_luns_add
  t1=$(now_us)
  say "the LUNs are back $(seconds_since "$t0" "$t1") s after they went; then: $(for vm in "${GUESTS[@]}"; do printf '%s %s ' "$vm" "${LAST_SEEN[$vm]}"; done)"
  storage_back "storage outage" "$t1" "${GUESTS[@]}"
  say "every guest runs and does disk I/O again $(seconds_since "$t1") s after the LUNs came back"
  stop_sampler "storage outage"
  events_stop
  for vm in "${GUESTS[@]}"; do
    storage_result storage-outage "$vm" "$t0" "${before[$vm]}" "at_storage_back=${LAST_SEEN[$vm]}"
    [ "${PAUSES[$vm]}" -gt 0 ] && paused=$((paused + 1))
    [ "$CONTINUED" = yes ] || fail "storage outage: $vm did not run on where it was (its counter was ${before[$vm]})"
    continued=$((continued + 1))
  done
  result "storage-outage-summary method=lun-removal seconds=$(seconds_since "$t0" "$t1") guests=${#GUESTS[@]} paused=$paused continued=$continued manual_resume=$MANUAL_RESUME heartbeat_lost_hosts=$lost"
  say "step 5 passed: $paused of ${#GUESTS[@]} guests paused on an I/O error, every one ran on with its counter"
}

# The host running the most guests loses its path to the target for PATH_LOSS_S, and only that;
# then gets it back. No disk is ever held by two QEMU processes, and every guest runs at the end.
step_storage_path_loss() {
  local h n best=0 t0 t1 vm vms c1 magic io e did
  local -A before=() io_cut=() io_end=()
  for n in "${E2E_HOSTS[@]}"; do
    vms=$(running_on "$n" | wc -l)
    if (( vms > best )); then best=$vms; h=$n; fi
  done
  [ -n "${h:-}" ] || fail "no host runs a guest"
  vms=$(running_on "$h" | paste -sd' ')
  say "step 6: storage path loss: $h (it runs $vms) loses its path to the target for ${PATH_LOSS_S} s"
  events_start
  # shellcheck disable=SC2086
  storage_watch_start $vms
  for vm in $vms; do
    read -r c1 magic io e < <(guest_io "$h" "$vm") || fail "cannot read $vm's memory on $h"
    before[$vm]=$c1
  done
  start_sampler
  t0=$(now_us)
  storage_path_cut "$h" || fail "could not cut $h's path to the target (nft)"
  # a request already under way may still complete: the I/O counters are read once it has, and
  # again near the end
  # shellcheck disable=SC2086
  storage_watch "$t0" $(( t0 + 3000000 )) $vms
  for vm in $vms; do
    if read -r c1 magic io e < <(guest_io "$h" "$vm"); then io_cut[$vm]=$io; fi
  done
  # shellcheck disable=SC2086
  storage_watch "$t0" $(( t0 + (PATH_LOSS_S - 2) * 1000000 )) $vms
  for vm in $vms; do
    if read -r c1 magic io e < <(guest_io "$h" "$vm"); then io_end[$vm]=$io; fi
  done
  # havnd's storage heartbeat goes the guests' way: it fails on this host, which says so (its host
  # record, and the metric) within the storage timeout
  local hb_lost hb_back
  hb_lost=$(metric "$h" havn_datastore_reachable "datastore=\"$E2E_DATASTORE\"" 2>/dev/null || echo missing)
  [ "$hb_lost" = 0 ] || fail "storage path loss: $h's havnd still reports datastore $E2E_DATASTORE reachable ($hb_lost) after $(seconds_since "$t0") s without a path"
  say "$h's havnd reports datastore $E2E_DATASTORE lost (its storage heartbeat fails); the others still reach it: $(for n in "${E2E_HOSTS[@]}"; do [ "$n" = "$h" ] || printf '%s=%s ' "$n" "$(metric "$n" havn_datastore_reachable "datastore=\"$E2E_DATASTORE\"" 2>/dev/null)"; done)"
  # shellcheck disable=SC2086
  storage_watch "$t0" $(( t0 + PATH_LOSS_S * 1000000 )) $vms
  storage_path_restore "$h" || fail "could not give $h its path to the target back"
  t1=$(now_us)
  say "$h has its path back $(seconds_since "$t0" "$t1") s after losing it; then: $(for vm in $vms; do printf '%s %s ' "$vm" "${LAST_SEEN[$vm]}"; done)"
  # shellcheck disable=SC2086
  storage_back "storage path loss" "$t1" $vms
  say "$h's guests run and do disk I/O again $(seconds_since "$t1") s after it got its path back"
  wait_for "$h's havnd to reach datastore $E2E_DATASTORE again" 30 is_one metric "$h" havn_datastore_reachable "datastore=\"$E2E_DATASTORE\""
  hb_back=$(seconds_since "$t1")
  say "$h's havnd reaches datastore $E2E_DATASTORE again $hb_back s after it got its path back"
  wait_for "the leader to see all ${#GUESTS[@]} HA VMs running" 30 leader_metric_is "${#GUESTS[@]}" havn_vms 'phase="running"'
  stop_sampler "storage path loss"
  events_stop
  for vm in $vms; do
    did=running
    if [ -n "${PAUSE_REASON[$vm]:-}" ] || grep -q "for domain '$vm': Suspended" "$E2E_DIR"/events/*.log; then
      did=paused
    elif [ "${io_cut[$vm]:-x}" = "${io_end[$vm]:-y}" ]; then
      did=hung
    fi
    storage_result storage-path-loss "$vm" "$t0" "${before[$vm]}" "during=$did io_during=$(( ${io_end[$vm]:-0} - ${io_cut[$vm]:-0} ))"
  done
  n=$(where_running | wc -l)
  result "storage-path-loss-summary host=$h seconds=$(seconds_since "$t0" "$t1") guests=$(wc -w <<< "$vms") running_everywhere=$n manual_resume=$MANUAL_RESUME heartbeat_lost=yes heartbeat_back_s=$hb_back"
  [ "$n" = "${#GUESTS[@]}" ] || fail "storage path loss: $n of ${#GUESTS[@]} guests run at the end"
  say "step 6 passed: every guest runs, none was ever held twice"
}

# ---------------------------------------------------------------- step 7: metrics

step_metrics() {
  say "step 7: the leader's /metrics"
  failover_metrics session_expired
  say "step 7 passed"
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
  step_storage_outage
  step_storage_path_loss
  step_metrics
  result "summary fence_median=${MEDIAN[fence]} fence_n=${COUNT[fence]} expiry_median=${MEDIAN[expiry]} expiry_n=${COUNT[expiry]}"
  echo "e2e: power loss -> VM running: fence path median ${MEDIAN[fence]} s (n=${COUNT[fence]}), expiry path median ${MEDIAN[expiry]} s (n=${COUNT[expiry]})"
  say "all steps passed"
}

# sourced (to use its functions by hand), it runs nothing
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
