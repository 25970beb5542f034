# hosts.sh: hypervisor hosts made of Linux namespaces on one machine, for the end-to-end test.
# Sourced by e2e.sh, which sets E2E_DIR (the state directory), E2E_HERE (this directory) and the
# jars, and defines fail and say.
#
# A host is a network namespace (/run/netns/havn-e2e-hostN) with a veth into the bridge
# havne2e0 of the root namespace, plus a mount and a UTS namespace of its own, kept by bind
# mounts in $E2E_DIR/ns so that they outlive its processes, as a machine outlives a power cut.
# In its mount namespace /run/libvirt, /var/lib/libvirt, /etc/libvirt, /var/log/libvirt,
# /var/cache/libvirt, /etc/hosts, /etc/passwd and /etc/group are its own; the rest of the
# filesystem, /dev included, every host sees alike. The guests' disks are LUNs of one iSCSI
# target, served by tgtd (user space) in the root namespace on the bridge's address: every host
# reaches them over its link, as it would a SAN's.
#
# Every process of a host (its daemons, the guests they start, the harness's commands in it) is
# put in the host's own cgroup, $E2E_CGROUP/HOST, when it starts: the fence agent powers the host
# off by killing that cgroup at once, as quickly as a power switch (see cgroups_make).

E2E_NET=10.88.0                   # the test bridge's /24; the root namespace is .1
E2E_BRIDGE=havne2e0
E2E_ZK_PORT=2181                  # plain, on 127.0.0.1 only: the test's health check
E2E_ZK_TLS_PORT=2281              # TLS with client certificates: what the hosts use
E2E_ZK_SUBJECT="CN=havn-e2e"   # the hosts' certificate subject: the znodes' ACL names x509:<it>
E2E_HOSTS=(host1 host2 host3)
E2E_ISCSI_PORT=3260               # tgtd's portal, on the bridge's address
E2E_IQN=iqn.2026-12.io.havn:e2e   # the one target; LUN N is the Nth guest's disk, the last the heartbeat LUN
E2E_TGT_CONTROL=3260              # tgtd's management socket, /var/run/tgtd/socket.N (Debian's service uses 0)
# Mount points the private directories are bound over, in every host
E2E_PRIVATE_DIRS=(/run/libvirt /var/lib/libvirt /etc/libvirt /var/log/libvirt /var/cache/libvirt)

host_ip() { echo "$E2E_NET.1${1#host}"; }          # host1 -> 10.88.0.11
host_netns() { echo "havn-e2e-$1"; }
host_dir() { echo "$E2E_DIR/$1"; }
host_veth() { echo "he2e-$1"; }                     # the root end of the host's link

# Runs a command inside HOST: its network, mount and UTS namespaces, and its cgroup.
in_host() {
  local h=$1
  shift
  ( cgroup_join "$h" && exec nsenter --net="/run/netns/$(host_netns "$h")" --mount="$E2E_DIR/ns/$h.mnt" \
    --uts="$E2E_DIR/ns/$h.uts" -- "$@" )
}

virsh_in() {
  local h=$1
  shift
  in_host "$h" virsh -q -c qemu:///system "$@"
}

# The pids of every process in HOST's network namespace, in its cgroup or not. (-ef, same device
# and inode, is a builtin: no command per process, which on a loaded machine makes a scan take
# seconds.)
host_pids() {
  local ns p
  ns=/run/netns/$(host_netns "$1")
  [ -e "$ns" ] || return 0
  for p in /proc/[0-9]*; do
    [[ "$p/ns/net" -ef "$ns" ]] && echo "${p#/proc/}"
  done
  return 0
}

# ---------------------------------------------------------------- the network

net_make() {
  local taken
  taken=$(ip -o route show match "$E2E_NET.0/24" | grep -v '^default' || true)
  [ -z "$taken" ] || fail "$E2E_NET.0/24 is already routed on this machine ($taken); the test bridge needs it"
  # ip netns makes /run/netns a mount of its own; if it does so now, teardown undoes it
  mountpoint -q /run/netns || echo /run/netns >> "$E2E_DIR/made-mounts"
  ip link add "$E2E_BRIDGE" type bridge
  ip addr add "$E2E_NET.1/24" dev "$E2E_BRIDGE"
  ip link set "$E2E_BRIDGE" up
}

# ---------------------------------------------------------------- the hosts' cgroups

# Makes a cgroup for every host, $E2E_CGROUP/HOST: the fence agent kills a host's with one write
# to its cgroup.kill (Linux 5.14), where a walk of /proc for the processes in the host's network
# namespace takes seconds on a loaded machine and made the test time its own fence. cgroup v2 is
# mounted for it in $E2E_DIR/cgroup (beside the machine's own mount, if any: it is one
# hierarchy), before the hosts' mount namespaces are made: they see it at the same path, where
# their own sysfs hides /sys/fs/cgroup, and the agent runs in them too (as their havnd's child).
# No controller is enabled: the cgroups only group. Where cgroup v2 cannot be mounted, has no
# cgroup.kill, or root may not move a process into it, E2E_CGROUP stays empty: the hosts get no
# cgroup and the agent walks /proc.
E2E_CGROUP=
cgroups_make() {
  local m=$E2E_DIR/cgroup
  mkdir -p "$m"
  # the probe: a subshell that moves itself in, and ends
  if mount -t cgroup2 cgroup2 "$m" 2> /dev/null \
    && mkdir -p "${E2E_HOSTS[@]/#/$m/havn-e2e/}" 2> /dev/null \
    && [ -f "$m/havn-e2e/${E2E_HOSTS[0]}/cgroup.kill" ] \
    && (echo "$BASHPID" > "$m/havn-e2e/${E2E_HOSTS[0]}/cgroup.procs") 2> /dev/null; then
    E2E_CGROUP=$m/havn-e2e
    say "each host's processes in a cgroup of its own under $E2E_CGROUP: a fence kills them at once"
    return 0
  fi
  cgroups_remove
  say "no usable cgroup v2 with cgroup.kill here: the fence agent finds a host's processes by a walk of /proc"
}

# Puts the calling shell, a subshell about to exec a command of HOST's, in HOST's cgroup (if any).
cgroup_join() {
  [ -z "$E2E_CGROUP" ] || echo "$BASHPID" > "$E2E_CGROUP/$1/cgroup.procs"
}

# The fence agent's option for HOST's cgroup, or nothing.
cgroup_option() {
  [ -z "$E2E_CGROUP" ] || echo "cgroup=$E2E_CGROUP/$1"
}

# Kills whatever the hosts' cgroups hold, removes them and unmounts $E2E_DIR/cgroup; what a run
# left behind too (mounting it again to find them). Safe to call at any point and more than once.
cgroups_remove() (
  set +e
  trap - ERR
  local m=$E2E_DIR/cgroup t
  [ -d "$m" ] || return 0
  mountpoint -q "$m" || mount -t cgroup2 cgroup2 "$m" 2> /dev/null || return 0
  for t in "$m"/havn-e2e/*/; do
    [ -f "$t/cgroup.kill" ] || continue
    echo 1 > "$t/cgroup.kill"
    for _ in $(seq 100); do
      grep -qx 'populated 0' "$t/cgroup.events" && break
      sleep 0.1
    done
    rmdir "$t"
  done
  [ -d "$m/havn-e2e" ] && rmdir "$m/havn-e2e"
  umount "$m" && rmdir "$m"
  return 0
)

# ---------------------------------------------------------------- a host

# Creates HOST's directories, its libvirt and system files, and its namespaces.
host_make() {
  local h=$1 d ip n t
  d=$(host_dir "$h")
  ip=$(host_ip "$h")
  n=$(host_netns "$h")
  mkdir -p "$d"/run "$d"/lib "$d"/etc/qemu "$d"/log "$d"/cache "$d"/havn
  # libvirtd: TCP without authentication on the host's own address only. That is safe here and
  # only here: the bridge is a closed test network inside this machine, reached by nobody else.
  cat > "$d/etc/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "$ip"
auth_tcp = "none"
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_rw_perms = "0700"
host_uuid = "00000000-0000-4000-8000-00000000e2e${h#host}"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  # QEMU as root, with no per-guest mount namespace, cgroups or security labels: none of
  # them works, or matters, inside the test's namespaces.
  cat > "$d/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = []
cgroup_controllers = []
EOF
  {
    echo "127.0.0.1 localhost"
    for t in "${E2E_HOSTS[@]}"; do echo "$(host_ip "$t") $t"; done
  } > "$d/hosts"
  # libvirtd insists on the user its package creates (libvirt-daemon-system); the host gets it
  # in its own /etc/passwd rather than the machine in its real one.
  cp /etc/passwd "$d/passwd"
  cp /etc/group "$d/group"
  grep -q '^libvirt-qemu:' "$d/passwd" || echo "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin" >> "$d/passwd"
  grep -q '^libvirt-qemu:' "$d/group" || echo "libvirt-qemu:x:64055:" >> "$d/group"
  grep -q '^kvm:' "$d/group" || echo "kvm:x:64056:" >> "$d/group"
  grep -q '^libvirt:' "$d/group" || echo "libvirt:x:64057:" >> "$d/group"

  ip netns add "$n"
  ip link add "$(host_veth "$h")" type veth peer name eth0 netns "$n"
  ip link set "$(host_veth "$h")" master "$E2E_BRIDGE" up
  ip -n "$n" link set lo up
  ip -n "$n" addr add "$ip/24" dev eth0
  ip -n "$n" link set eth0 up

  for t in "${E2E_PRIVATE_DIRS[@]}"; do
    if [ ! -d "$t" ]; then
      mkdir -p "$t"
      echo "$t" >> "$E2E_DIR/made-dirs"
    fi
  done
  touch "$E2E_DIR/ns/$h.mnt" "$E2E_DIR/ns/$h.uts"
  nsenter --net="/run/netns/$n" unshare --mount="$E2E_DIR/ns/$h.mnt" --uts="$E2E_DIR/ns/$h.uts" \
    --propagation slave /bin/sh -euc '
      d=$1; h=$2
      hostname "$h"
      mount --bind "$d/run" /run/libvirt
      mount --bind "$d/lib" /var/lib/libvirt
      mount --bind "$d/etc" /etc/libvirt
      mount --bind "$d/log" /var/log/libvirt
      mount --bind "$d/cache" /var/cache/libvirt
      mount --bind "$d/hosts" /etc/hosts
      mount --bind "$d/passwd" /etc/passwd
      mount --bind "$d/group" /etc/group
      # sysfs of this network namespace, so that /sys/class/net shows its own links
      mount -t sysfs sysfs /sys' sh "$d" "$h"
}

# Starts the virtlogd and libvirtd of each HOST, after emptying its /run/libvirt as a reboot
# empties /run, and waits until every libvirtd answers (they probe QEMU at first start: a few
# seconds, spent in parallel).
libvirt_start() {
  local h d
  for h in "$@"; do
    d=$(host_dir "$h")
    find "$d/run" -mindepth 1 -delete
    in_host "$h" virtlogd -d -p /run/libvirt/virtlogd.pid < /dev/null >> "$d/log/virtlogd.out" 2>&1 \
      {E2E_OUT}>&- {E2E_ERR}>&- 9>&- || fail "virtlogd did not start on $h (see $d/log)"
    in_host "$h" libvirtd -d --listen -p /run/libvirt/libvirtd.pid < /dev/null >> "$d/log/libvirtd.out" 2>&1 \
      {E2E_OUT}>&- {E2E_ERR}>&- 9>&- || fail "libvirtd did not start on $h: $(tail -3 "$d/log/libvirtd.out" "$d/log/libvirtd.log" 2>/dev/null)"
  done
  for h in "$@"; do
    wait_for "libvirtd on $h" 60 virsh_in "$h" version
  done
}

# Starts HOST's havnd with its config; its log is $(host_dir)/havnd.log.
havnd_start() {
  local h=$1 d
  d=$(host_dir "$h")
  echo "---- havnd start $(date -u +%T.%3N)" >> "$d/havnd.log"
  # at the priority havnd.service gives it (Nice=-10; CPUWeight= needs systemd, which is not here)
  # and with class-data sharing, as the packaged wrapper runs it (HAVN_CDS_DIR): the first clean
  # stop writes the archive, later starts map it
  local cds="-XX:ArchiveClassesAtExit=$d/havnd.jsa -Xlog:cds=off"
  [ -s "$d/havnd.jsa" ] && cds="-XX:SharedArchiveFile=$d/havnd.jsa"
  spawn "$h" "$d/havnd.log" "$d/havnd.pid" nsenter --net="/run/netns/$(host_netns "$h")" --mount="$E2E_DIR/ns/$h.mnt" \
    --uts="$E2E_DIR/ns/$h.uts" -- nice -n -10 java $E2E_JAVA_OPTS $cds -jar "$HAVND_JAR" --config "$d/havn.yaml"
}

# Starts HOST's havn-signal, the second liveness signal, apart from havnd, and beside it a
# stand-in for the watchdog petter: there is no /dev/watchdog here, so a process that sleeps holds
# the petter's place and the status file says, as the petter does once it has armed a device,
# that it verified a timeout of W (3 s). The signal then says what havnd publishes: armed until
# its lease (or restart window), released, or lapsed.
signal_start() {
  local h=$1 d
  d=$(host_dir "$h")
  spawn "$h" "$d/petter.log" "$d/petter.pid" nsenter --net="/run/netns/$(host_netns "$h")" -- sleep infinity
  printf 'havn-watchdog-status 1 %s %s 3000 e2e-stand-in-for-dev-watchdog\n' \
    "$(cat /proc/sys/kernel/random/boot_id)" "$(cat "$d/petter.pid")" > "$d/havn/watchdog.status"
  echo "---- havn-signal start $(date -u +%T.%3N)" >> "$d/signal.log"
  spawn "$h" "$d/signal.log" "$d/signal.pid" nsenter --net="/run/netns/$(host_netns "$h")" --mount="$E2E_DIR/ns/$h.mnt" \
    --uts="$E2E_DIR/ns/$h.uts" -- nice -n -10 java $E2E_SIGNAL_JAVA_OPTS -cp "$HAVND_JAR" \
    io.havn.daemon.signal.SignalSender --config "$d/havn.yaml"
}

# Runs a daemon of HOST (- for one of the machine's) in a session of its own and in HOST's cgroup,
# appending its output to LOG and its pid to PIDFILE. It is no job of the harness's: the harness
# kills daemons on purpose and is not to be told. It keeps none of the harness's own output open
# (whoever reads it would wait for the daemon's end), nor e2e.sh's lock (fd 9): a daemon a killed
# run left behind would keep e2e.sh clean from removing it.
spawn() {
  local h=$1 log=$2 pidfile=$3
  shift 3
  ( trap - ERR; [ "$h" = - ] || cgroup_join "$h" || exit 1
    exec setsid "$@" {E2E_OUT}>&- {E2E_ERR}>&- 9>&- ) < /dev/null >> "$log" 2>&1 &
  echo $! > "$pidfile"
  disown $!
}

# Stops the havnd of every HOST at once (SIGTERM, as systemd would); their VMs keep running.
havnd_stop() {
  local h pids=()
  for h in "$@"; do
    pids+=("$(cat "$(host_dir "$h")/havnd.pid")")
  done
  kill -TERM "${pids[@]}"
  for h in "${pids[@]}"; do
    wait_for "havnd (pid $h) to stop" 30 not_running "$h"
  done
}

not_running() { ! kill -0 "$1" 2>/dev/null; }

# The fence agent on HOST, from the root namespace: action off or status.
fence_host() {
  printf 'netns=%s\n%s\naction=%s\n' "$(host_netns "$1")" "$(cgroup_option "$1")" "$2" | "$E2E_HERE/fence_havn_e2e"
}

# HOST loses its path to the iSCSI target, and only that: nft drops its packets to and from the
# portal (the target's address and port) in the host's network namespace, as a failed path of a
# SAN would; its links, its heartbeats and ZooKeeper (the same address, another port) go on.
# Dropped rather than refused, or a route taken away: see README.md on what QEMU's initiator
# does with each.
storage_path_cut() {
  nsenter --net="/run/netns/$(host_netns "$1")" nft -f - <<EOF
table inet havn-e2e-storage {
  chain out { type filter hook output priority 0; policy accept; ip daddr $E2E_NET.1 tcp dport $E2E_ISCSI_PORT drop; }
  chain in { type filter hook input priority 0; policy accept; ip saddr $E2E_NET.1 tcp sport $E2E_ISCSI_PORT drop; }
}
EOF
}
storage_path_restore() {
  nsenter --net="/run/netns/$(host_netns "$1")" nft delete table inet havn-e2e-storage
}

# HOST is cut off from the network but for its path to the iSCSI target: nft drops every packet
# it sends or receives but those to and from the portal, in its network namespace. Its heartbeats
# and ZooKeeper are gone; its guests' disks stay within reach, as a SAN of its own keeps them in a
# real cluster (and as they were when loop devices stood in for LUNs). A guest whose QEMU cannot
# reach its target dies slowly when destroyed, see README.md.
host_isolate() {
  nsenter --net="/run/netns/$(host_netns "$1")" nft -f - <<EOF
table inet havn-e2e-isolation {
  chain in { type filter hook input priority 0; policy drop; iif "lo" accept; ip saddr $E2E_NET.1 tcp sport $E2E_ISCSI_PORT accept; }
  chain out { type filter hook output priority 0; policy drop; oif "lo" accept; ip daddr $E2E_NET.1 tcp dport $E2E_ISCSI_PORT accept; }
}
EOF
}
host_rejoin() {
  nsenter --net="/run/netns/$(host_netns "$1")" nft delete table inet havn-e2e-isolation
}

link_set() {
  ip -n "$(host_netns "$1")" link set eth0 "$2"
}

# ---------------------------------------------------------------- the iSCSI target

# tgtd's management commands, for this test's tgtd alone
tgtadm_e2e() { tgtadm -C "$E2E_TGT_CONTROL" --lld iscsi "$@"; }

# Starts tgtd in the root namespace, listening on the bridge's address only, and defines the
# target: LUN N over the image file IMAGES[N-1] (raw), open to the hosts' addresses alone. The
# target and its LUNs live in tgtd's memory: a tgtd started again serves nothing until this
# defines them again. tgtd runs in the foreground (-f) as a daemon of the harness (spawn), so that
# its pid is known and its log kept in $E2E_DIR/tgt.
tgt_start() {
  local t=$E2E_DIR/tgt pid n=0 img h out
  mkdir -p "$t"
  echo "---- tgtd start $(date -u +%T.%3N)" >> "$t/tgtd.log"
  spawn - "$t/tgtd.log" "$t/tgtd.pid" tgtd -f -C "$E2E_TGT_CONTROL" --iscsi "portal=$E2E_NET.1:$E2E_ISCSI_PORT"
  pid=$(cat "$t/tgtd.pid")
  wait_for "tgtd on $E2E_NET.1:$E2E_ISCSI_PORT" 30 tgt_ok_or_gone "$pid"
  if ! kill -0 "$pid" 2>/dev/null || ! tgt_ok; then
    fail "tgtd did not start, or does not listen on $E2E_NET.1:$E2E_ISCSI_PORT (another iSCSI target on port $E2E_ISCSI_PORT, such as Debian's tgt service?): $(tail -3 "$t/tgtd.log")"
  fi
  tgtadm_e2e --op new --mode target --tid 1 -T "$E2E_IQN" || fail "tgtadm could not make the target $E2E_IQN"
  for img in "${E2E_LUN_IMAGES[@]}"; do
    n=$((n + 1))
    out=$(tgtadm_e2e --op new --mode logicalunit --tid 1 --lun "$n" -b "$img" 2>&1) \
      || fail "tgtadm could not make LUN $n over $img: $out"
  done
  for h in "${E2E_HOSTS[@]}"; do
    tgtadm_e2e --op bind --mode target --tid 1 -I "$(host_ip "$h")" || fail "tgtadm could not open the target to $h"
  done
}

# The target stops serving its LUNs: each is removed from it (tgtd answers every command for it
# with ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED), while the target, its portal and the hosts'
# sessions stay. tgt_luns_add puts them back, over the same images.
# tgtd refuses to remove a LUN while a command for it is under way ("this logical unit is still
# active"): a guest's next request comes within half a second, so it is asked again until it may.
tgt_luns_remove() {
  local n
  for n in $(seq "${#E2E_LUN_IMAGES[@]}"); do
    wait_for "tgtd to remove LUN $n" 10 tgtadm_e2e --op delete --mode logicalunit --tid 1 --lun "$n"
  done
}
tgt_luns_add() {
  local n=0 img out
  for img in "${E2E_LUN_IMAGES[@]}"; do
    n=$((n + 1))
    out=$(tgtadm_e2e --op new --mode logicalunit --tid 1 --lun "$n" -b "$img" 2>&1) || fail "tgtadm could not add LUN $n again: $out"
  done
}

# Whether this test's tgtd answers on its management socket and accepts connections on its portal
tgt_ok() {
  tgtadm_e2e --op show --mode target > /dev/null 2>&1 && (exec 3<>"/dev/tcp/$E2E_NET.1/$E2E_ISCSI_PORT") 2>/dev/null
}
tgt_ok_or_gone() { tgt_ok || ! kill -0 "$1" 2>/dev/null; }

# The pid of this test's tgtd, if it runs (the pid file's, if that process is still tgtd -C N)
tgt_pid() {
  local p cmd
  p=$(cat "$E2E_DIR/tgt/tgtd.pid" 2>/dev/null) && cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline") || return 1
  [[ "$cmd" == "tgtd -f -C $E2E_TGT_CONTROL "* ]] && echo "$p"
}

# Stops this test's tgtd the way it accepts (SIGTERM is ignored while a target exists): the
# target goes, forcibly, with its sessions, then the daemon; SIGKILL if it has not ended within
# 5 s. Its management socket and lock file go too. Safe to call at any point and more than once.
tgt_stop() (
  set +e
  trap - ERR
  local p
  if p=$(tgt_pid); then
    tgtadm_e2e --op delete --mode target --tid 1 --force > /dev/null 2>&1
    tgtadm -C "$E2E_TGT_CONTROL" --op delete --mode system > /dev/null 2>&1
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "/var/run/tgtd/socket.$E2E_TGT_CONTROL" "/var/run/tgtd/socket.$E2E_TGT_CONTROL.lock"
  return 0
)

# ---------------------------------------------------------------- ZooKeeper

# A CA, ZooKeeper's certificate (for the bridge's address) and the one every host presents
# ($E2E_ZK_SUBJECT), in PKCS12 stores under $E2E_DIR/tls, all opened with the password in
# store.password; the recipe of the README's "Installing on real hosts".
zk_certificates() {
  local t=$E2E_DIR/tls name
  mkdir -p "$t"
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$t/store.password"
  chmod 600 "$t/store.password"
  kt() {
    local out
    out=$(keytool -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC "$@" -storepass:file "$t/store.password" 2>&1) \
      || fail "keytool $1 failed: ${out##*$'\n'}"
  }
  kt -genkeypair -alias ca -dname "CN=havn e2e CA" -ext bc:c -keyalg EC -groupname secp256r1 -validity 2 \
    -keystore "$t/ca.p12" -storetype PKCS12
  kt -exportcert -rfc -alias ca -keystore "$t/ca.p12" -file "$t/ca.pem"
  kt -importcert -noprompt -alias ca -file "$t/ca.pem" -keystore "$t/truststore.p12" -storetype PKCS12
  for name in zookeeper host; do
    kt -genkeypair -alias "$name" -keyalg EC -groupname secp256r1 -keystore "$t/$name.p12" -storetype PKCS12 \
      -dname "$([ "$name" = host ] && echo "$E2E_ZK_SUBJECT" || echo "CN=zookeeper,OU=e2e")"
    kt -certreq -alias "$name" -keystore "$t/$name.p12" -file "$t/$name.csr"
    kt -gencert -rfc -alias ca -keystore "$t/ca.p12" -infile "$t/$name.csr" -outfile "$t/$name.pem" -validity 2 \
      -ext eku=serverAuth,clientAuth $([ "$name" = zookeeper ] && echo "-ext san=ip:$E2E_NET.1")
    cat "$t/$name.pem" "$t/ca.pem" > "$t/$name-chain.pem"
    kt -importcert -noprompt -alias "$name" -file "$t/$name-chain.pem" -keystore "$t/$name.p12"
  done
}

# One ZooKeeper server in the root namespace: TLS on the bridge's address, client certificates
# required and authenticated by the x509 provider; a plain port on 127.0.0.1 for ruok alone.
zk_start() {
  local z=$E2E_DIR/zk t=$E2E_DIR/tls
  mkdir -p "$z/data"
  zk_certificates
  cat > "$z/zoo.cfg" <<EOF
tickTime=1000
dataDir=$z/data
clientPortAddress=127.0.0.1
clientPort=$E2E_ZK_PORT
secureClientPortAddress=$E2E_NET.1
secureClientPort=$E2E_ZK_TLS_PORT
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
ssl.clientAuth=need
ssl.keyStore.location=$t/zookeeper.p12
ssl.keyStore.passwordPath=$t/store.password
ssl.keyStore.type=PKCS12
ssl.trustStore.location=$t/truststore.p12
ssl.trustStore.passwordPath=$t/store.password
ssl.trustStore.type=PKCS12
maxSessionTimeout=60000
admin.enableServer=false
4lw.commands.whitelist=ruok
EOF
  spawn - "$z/zk.log" "$z/zk.pid" java -Xmx256m -cp "$E2E_ZK_CLASSPATH" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$z/zoo.cfg"
  wait_for "ZooKeeper on $E2E_NET.1:$E2E_ZK_TLS_PORT" 60 zk_ok_or_gone "$(cat "$z/zk.pid")"
  kill -0 "$(cat "$z/zk.pid")" 2>/dev/null \
    || fail "ZooKeeper exited (a havnd.jar without metrics-core and snappy-java needs them in HAVN_E2E_ZK_CLASSPATH): $(grep -m1 -A1 Exception "$z/zk.log")"
}

# What a client without the hosts' certificate gets when it lists DIR and creates DIR2/forged,
# on the plain port (the TLS port refuses it before it can ask): its "zk-stranger:" lines.
zk_stranger() {
  local out
  out=$(java -Xmx128m -XX:+UseSerialGC -cp "$E2E_ZK_CLASSPATH" "$E2E_HERE/ZkStranger.java" \
    "127.0.0.1:$E2E_ZK_PORT" "$@" 2>&1 || true)
  grep '^zk-stranger: ' <<< "$out" || true
}

zk_ok_or_gone() { zk_ok || ! kill -0 "$1" 2>/dev/null; }

zk_ok() {
  [ "$(exec 3<>"/dev/tcp/127.0.0.1/$E2E_ZK_PORT" && printf ruok >&3 && timeout 2 cat <&3)" = imok ] 2>/dev/null \
    && (exec 3<>"/dev/tcp/$E2E_NET.1/$E2E_ZK_TLS_PORT") 2>/dev/null
}

# ---------------------------------------------------------------- teardown

# Removes everything a run made, also what a killed run left behind: processes, namespaces,
# links, the bridge, mounts, directories. Safe to call at any point and more than once.
teardown() (
  set +e
  trap - ERR
  local h pids t z cmd
  cgroups_remove
  for h in "${E2E_HOSTS[@]}"; do
    [ -e "/run/netns/$(host_netns "$h")" ] || continue
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      pids=$(host_pids "$h")
      [ -z "$pids" ] && break
      kill -KILL $pids 2>/dev/null
      sleep 0.2
    done
  done
  # the ZooKeeper server, if the pid it left is still that server (a pid can be reused)
  # (read first, then matched: see the note on pipefail by e2e.sh's predicates)
  z=$(cat "$E2E_DIR/zk/zk.pid" 2>/dev/null) \
    && cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$z/cmdline") \
    && grep "ZooKeeperServerMain $E2E_DIR/zk/zoo.cfg" <<< "$cmd" > /dev/null \
    && kill -KILL "$z"
  tgt_stop
  # the loop devices an older version of this test attached to the images
  for t in "$E2E_DIR"/shared/*.img; do
    [ -f "$t" ] || continue
    for z in $(losetup -j "$t" -O NAME -n 2>/dev/null); do losetup -d "$z"; done
  done
  for h in "${E2E_HOSTS[@]}"; do
    for t in mnt uts; do
      umount "$E2E_DIR/ns/$h.$t" 2>/dev/null
    done
    ip netns del "$(host_netns "$h")" 2>/dev/null
    ip link del "$(host_veth "$h")" 2>/dev/null
  done
  ip link del "$E2E_BRIDGE" 2>/dev/null
  if [ -f "$E2E_DIR/made-mounts" ]; then
    while read -r t; do
      [ -z "$(ls -A "$t" 2>/dev/null)" ] && umount "$t" && rmdir "$t"
    done < "$E2E_DIR/made-mounts"
  fi
  umount "$E2E_DIR/ns" 2>/dev/null
  if [ -f "$E2E_DIR/made-dirs" ]; then
    while read -r t; do rmdir "$t" 2>/dev/null; done < <(sort -ru "$E2E_DIR/made-dirs")
  fi
  # never into a mount left behind (a cgroup hierarchy's empty cgroups would go)
  rm -rf --one-file-system "$E2E_DIR"
  return 0
)
