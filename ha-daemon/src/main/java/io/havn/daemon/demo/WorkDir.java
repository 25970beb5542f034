package io.havn.daemon.demo;

import io.havn.common.model.Json;
import java.io.File;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The demo cluster's files in its work directory: the cluster key, and for each host its libvirt
 * test-driver hypervisor ({@code hostN.xml}, with the VMs it runs at first), its config
 * ({@code hostN.yaml}), the launcher that runs its havnd ({@code hostN.sh}, which records the
 * pid in {@code hostN.pid} and logs to {@code hostN.log}), its admin socket, watchdog state and
 * state directory ({@code hostN.d}, its incarnation); and the fence agent that powers a host off by
 * killing its havnd; and in {@code tls} the demo's CA, ZooKeeper's certificate and the one every
 * host presents to ZooKeeper ({@link #MEMBER_SUBJECT}). No hardware watchdog guards a demo: its
 * configs say {@code watchdog.required: false}.
 */
final class WorkDir {
    static final String CLUSTER = "demo";
    /** The subject of the certificate every host presents to ZooKeeper: the x509 identity the znodes' ACL names. */
    static final String MEMBER_SUBJECT = "CN=havn-" + CLUSTER;
    /** The name of the hosts' key store in {@link #tls()}. */
    static final String MEMBER_STORE = "member";
    /** Loopback addresses are short; the admin socket's path must fit a Unix socket address (108 bytes). */
    private static final int MAX_SOCKET_PATH_BYTES = 100;
    /** The daemons' log format: havnd's, with a UTC time stamp the demo reads back (see {@link DecisionLine}). */
    static final String DAEMON_LOGBACK = "io/havn/daemon/demo/havnd-logback.xml";
    private static final List<String> JVM_OPTIONS = List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    private final Path dir;

    WorkDir(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    /** Null, or why {@code dir} cannot hold the demo's Unix sockets. */
    static String socketPathProblem(Path dir) {
        Path longest = new WorkDir(dir).socket("host1");
        int bytes = longest.toString().getBytes(StandardCharsets.UTF_8).length;
        return bytes <= MAX_SOCKET_PATH_BYTES ? null : "the admin socket path " + longest + " would be " + bytes
                + " bytes, longer than a Unix socket address allows; use a shorter directory";
    }

    Path path() {
        return dir;
    }

    Path key() {
        return dir.resolve("cluster.key");
    }

    Path agent() {
        return dir.resolve("fence_demo");
    }

    Path zookeeper() {
        return dir.resolve("zookeeper");
    }

    /** The demo's CA and certificates ({@link CertificateAuthority}). */
    Path tls() {
        return dir.resolve("tls");
    }

    Path hypervisor(String host) {
        return dir.resolve(host + ".xml");
    }

    Path config(String host) {
        return dir.resolve(host + ".yaml");
    }

    Path launcher(String host) {
        return dir.resolve(host + ".sh");
    }

    Path log(String host) {
        return dir.resolve(host + ".log");
    }

    Path pid(String host) {
        return dir.resolve(host + ".pid");
    }

    Path socket(String host) {
        return dir.resolve(host + ".sock");
    }

    Path watchdog(String host) {
        return dir.resolve(host + ".wd");
    }

    Path stateDir(String host) {
        return dir.resolve(host + ".d");
    }

    /**
     * Writes every file of a cluster of {@code hosts} on ZooKeeper {@code zkConnect}, the VMs in
     * their first hosts' hypervisors; with {@code fence}, each host has a fence device.
     */
    void write(List<String> hosts, List<DemoVm> vms, String zkConnect, Profile profile, boolean fence)
            throws IOException {
        Files.createDirectories(zookeeper());
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        Files.writeString(key(), HexFormat.of().formatHex(k));
        Files.setPosixFilePermissions(key(), PosixFilePermissions.fromString("rw-------"));
        writeExecutable(agent(), agentScript());
        for (String h : hosts) {
            Files.writeString(hypervisor(h), hypervisorXml(vms.stream().filter(v -> v.host().equals(h)).toList()));
            Files.writeString(config(h), config(h, hosts, zkConnect, freeUdpPort(), profile, fence));
            writeExecutable(launcher(h), launcherScript(h));
        }
    }

    private static void writeExecutable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** A UDP port on loopback that is free now. */
    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A host of 4 CPUs and 2 GiB: room for its own two VMs and those of a failed host. */
    private static String hypervisorXml(List<DemoVm> vms) {
        StringBuilder b = new StringBuilder("""
                <node>
                  <cpu>
                    <mhz>2400</mhz>
                    <model>havn-demo</model>
                    <active>4</active>
                    <max>4</max>
                    <total>4</total>
                    <nodes>1</nodes>
                    <sockets>1</sockets>
                    <cores>4</cores>
                    <threads>1</threads>
                  </cpu>
                  <memory>2097152</memory>
                """);
        for (DemoVm v : vms) {
            b.append(v.domainXml().indent(2));
        }
        return b.append("</node>\n").toString();
    }

    private String config(String host, List<String> hosts, String zkConnect, int port, Profile profile, boolean fence) {
        StringBuilder b = new StringBuilder();
        b.append("cluster: ").append(CLUSTER).append('\n');
        b.append("host: {name: ").append(host).append(", cpus: 4, memoryMiB: 2048, address: ")
                .append(q("127.0.0.1:" + port)).append(", stateDir: ").append(q(stateDir(host))).append("}\n");
        CertificateAuthority ca = CertificateAuthority.at(tls());
        Path password = ca.passwordFile();
        b.append("zookeeper:\n  connect: ").append(q(zkConnect)).append("\n  sessionTimeoutMs: ")
                .append(profile.sessionTimeoutMs()).append("\n  tls: {keyStore: ")
                .append(q(ca.keyStore(MEMBER_STORE))).append(", keyStorePasswordFile: ").append(q(password))
                .append(", trustStore: ").append(q(ca.trustStore()))
                .append(", trustStorePasswordFile: ").append(q(password)).append("}\n");
        b.append("heartbeat: {bind: ").append(q("127.0.0.1:" + port)).append(", keyFile: ").append(q(key()))
                .append("}\n");
        b.append("libvirt: {uri: ").append(q("test://" + hypervisor(host))).append(", pollMs: 200}\n");
        if (fence) {
            // every host knows every device: the leader fences a host with the device its record names
            b.append("fence:\n  devices:\n");
            for (String h : hosts) {
                b.append("    ").append(device(h)).append(": {agent: ").append(q(agent()))
                        .append(", options: {pidfile: ").append(q(pid(h))).append(", config: ").append(q(config(h)))
                        .append("}}\n");
            }
            b.append("  device: ").append(device(host)).append('\n');
        }
        // no petter and no /dev/watchdog here: the daemons run their VMs unguarded, and say so
        b.append("watchdog: {stateFile: ").append(q(watchdog(host))).append(", required: false}\n");
        String me = System.getProperty("user.name");
        b.append("admin: {socket: ").append(q(socket(host))).append(", users: {")
                .append("root".equals(me) ? "" : q(me) + ": admin").append("}}\n"); // root is always admin
        b.append(profile.settingsYaml()).append('\n');
        return b.toString();
    }

    static String device(String host) {
        return "fence-" + host;
    }

    /** A YAML double-quoted scalar (JSON's string syntax is one). */
    private static String q(Object value) {
        return Json.toJson(value.toString());
    }

    /** The command that runs {@code host}'s havnd from this same class path (the demo's jar, or a test's class path). */
    List<String> javaCommand(String host) {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-Dlogback.configurationFile=" + DAEMON_LOGBACK);
        cmd.add("-cp");
        cmd.add(absoluteClassPath());
        cmd.addAll(List.of("io.havn.daemon.Havnd", "--config", config(host).toString()));
        return cmd;
    }

    /** This JVM's class path with absolute entries: the daemons and a person's shell may start elsewhere. */
    private static String absoluteClassPath() {
        return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.isEmpty())
                .map(e -> Path.of(e).toAbsolutePath().toString())
                .collect(Collectors.joining(File.pathSeparator));
    }

    /** {@link #javaCommand} for sh. */
    String javaCommandLine(String host) {
        return javaCommand(host).stream().map(WorkDir::sh).collect(Collectors.joining(" "));
    }

    /** Logs to the host's log and records the pid for the fence agent, then becomes the daemon. */
    private String launcherScript(String host) {
        return "#!/bin/sh\n"
                + "# havnd of " + host + " in the havn demo. The fence agent powers the host off by the pid.\n"
                + "exec >> " + sh(log(host)) + " 2>&1\n"
                + "echo $$ > " + sh(pid(host)) + "\n"
                + "exec " + javaCommandLine(host) + "\n";
    }

    /** {@code value} quoted for sh. */
    private static String sh(Object value) {
        String s = value.toString();
        return s.matches("[A-Za-z0-9_./:=+,-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }

    /**
     * A fence agent speaking the fence-agents protocol (key=value lines on stdin; see
     * io.havn.daemon.fence): a demo host is its havnd, so "off" kills it with SIGKILL, as a power
     * loss would, and "status" says off (exit 2) once it is gone, on (0) while it runs. The pid is
     * taken for the host only while that process runs the host's config, so a reused pid is never
     * mistaken for it.
     */
    private static String agentScript() {
        return """
                #!/bin/sh
                # The havn demo's fence agent (fence-agents protocol: key=value lines on stdin).
                # Options: pidfile=FILE (the host's havnd), config=FILE (its --config).
                action= pidfile= config=
                while IFS= read -r line; do
                  case "$line" in
                    action=*) action=${line#action=} ;;
                    pidfile=*) pidfile=${line#pidfile=} ;;
                    config=*) config=${line#config=} ;;
                  esac
                done
                pid=$(cat "$pidfile" 2>/dev/null)
                on() {
                  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\\0' '\\n' < "/proc/$pid/cmdline" | grep -qxF -- "$config"
                }
                case "$action" in
                  off)
                    if on; then kill -KILL "$pid"; fi
                    i=0
                    while on; do
                      i=$((i + 1))
                      if [ "$i" -gt 100 ]; then echo "Failed: havnd $pid still runs" >&2; exit 1; fi
                      sleep 0.05
                    done
                    echo "Success: Powered OFF"
                    exit 0 ;;
                  status)
                    if on; then echo "Status: ON"; exit 0; fi
                    echo "Status: OFF"
                    exit 2 ;;
                  monitor)
                    echo "OK"
                    exit 0 ;;
                  *)
                    echo "Failed: unsupported action '$action'" >&2
                    exit 1 ;;
                esac
                """;
    }
}
