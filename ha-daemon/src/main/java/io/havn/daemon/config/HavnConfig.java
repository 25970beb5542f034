package io.havn.daemon.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.node.Settings;
import io.havn.daemon.fence.FenceDevice;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The daemon's configuration ({@code /etc/havn/havn.yaml}). {@link #load} reads and checks it;
 * every problem is reported at once, each naming its key, and a bad file never yields a config.
 *
 * @param cluster    the cluster's name: the ZooKeeper chroot {@code /havn/<cluster>} and the heartbeat cluster id
 * @param host       this host
 * @param zookeeper  where the coordination service is
 * @param heartbeat  the heartbeat transport
 * @param libvirt    the local hypervisor
 * @param fence      fence devices
 * @param watchdog   the watchdog state file the petter process reads, and whether a verified petter is required
 * @param admin      the admin socket
 * @param metrics    the Prometheus endpoint
 * @param logging    the log format and level
 * @param settings   the node's timing and policy settings (defaults overridden by the file's {@code settings})
 */
public record HavnConfig(String cluster, Host host, ZooKeeper zookeeper, Heartbeat heartbeat, Libvirt libvirt,
                         Fence fence, Watchdog watchdog, Admin admin, Metrics metrics, Logging logging,
                         Settings settings) {

    /**
     * This host. {@code stateDir}: a directory on the host's disk (not a tmpfs) for what must
     * outlive a reboot, such as the last incarnation of the daemon.
     */
    public record Host(HostId name, HostCapacity capacity, InetSocketAddress address, Path stateDir) { }

    /**
     * The coordination service. {@code tls}: how to reach it over TLS with this host's certificate,
     * or null; {@code allowInsecure}: the file accepts a ZooKeeper without TLS in so many words
     * (a file without {@code tls} is refused otherwise).
     */
    public record ZooKeeper(String connect, int sessionTimeoutMs, String digest, Tls tls, boolean allowInsecure) {
        /** The key store (this host's key and certificate), the trust store (the CA), and the files of their passwords. */
        public record Tls(Path keyStore, Path keyStorePasswordFile, Path trustStore, Path trustStorePasswordFile) { }
    }

    public record Heartbeat(InetSocketAddress bind, Path keyFile) { }

    /**
     * The local libvirt. {@code sharedStorage}: the directories (or device paths) every host reaches
     * alike; {@code havnctl vm add} refuses a VM with a disk elsewhere, since no other host could
     * start it. The daemon itself does not use it.
     */
    public record Libvirt(String uri, int callTimeoutMs, int workers, int pollMs, String peerUriTemplate,
                          List<Path> sharedStorage) {
        public Libvirt {
            sharedStorage = List.copyOf(sharedStorage);
        }
    }

    /** The devices by name, and the name of the device that fences this host (or null). */
    public record Fence(Map<String, FenceDevice> devices, String device) { }

    /**
     * The watchdog's state file, and whether HA VMs need a petter that verified the device's timeout
     * ({@code required}: false only for demos and tests, where no hardware watchdog guards anything).
     */
    public record Watchdog(Path stateFile, boolean required) { }

    /** The admin socket and who besides root may use it. */
    public record Admin(Path socket, java.util.Set<String> allowedUsers) { }

    /** The Prometheus endpoint ({@code /metrics}); {@code bind} is where it listens when enabled. */
    public record Metrics(boolean enabled, InetSocketAddress bind) { }

    /**
     * How the daemon logs to stdout: {@code console} (plain lines for journald, which adds the
     * time) or {@code json} (one object per line, for log shippers); {@code level} is the least
     * severe level written (trace, debug, info, warn or error).
     */
    public record Logging(Format format, String level) {
        public enum Format { CONSOLE, JSON }
    }

    private static final Set<String> LOG_LEVELS = Set.of("trace", "debug", "info", "warn", "error");

    private static final Set<String> TOP = Set.of("cluster", "host", "zookeeper", "heartbeat", "libvirt", "fence",
            "watchdog", "admin", "metrics", "logging", "settings");

    /** Reads and checks {@code file}; throws {@link ConfigException} listing every problem. */
    public static HavnConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
        return parse(text, file.toString());
    }

    /** Checks the YAML {@code text}; {@code source} names it in messages. */
    public static HavnConfig parse(String text, String source) {
        ObjectMapper yaml = new ObjectMapper(YAMLFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());
        JsonNode root;
        try {
            root = yaml.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source + ": not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        }
        Reader r = new Reader(source);
        if (root == null || !root.isObject()) {
            throw new ConfigException(source + ": the file must be a mapping of keys");
        }
        r.only(root, "", TOP);
        String cluster = r.name(root, "cluster", true);
        JsonNode h = r.section(root, "host", Set.of("name", "cpus", "memoryMiB", "address", "stateDir"));
        HostId name = r.hostId(h, "host.name");
        HostCapacity cap = new HostCapacity(r.integer(h, "host.cpus", 0, 1, 1 << 16),
                r.integer(h, "host.memoryMiB", 0, 1, Integer.MAX_VALUE));
        InetSocketAddress address = r.address(h, "host.address", null);
        Path stateDir = r.absolutePath(h, "host.stateDir", "/var/lib/havn");
        JsonNode z = r.section(root, "zookeeper", Set.of("connect", "sessionTimeoutMs", "digest", "tls",
                "allowInsecure"));
        String connect = r.text(z, "zookeeper.connect", null);
        int sessionMs = r.integer(z, "zookeeper.sessionTimeoutMs", 10_000, 2_000, 600_000);
        String digest = r.text(z, "zookeeper.digest", "");
        if (!digest.isEmpty() && !digest.matches("[^:]+:.+")) {
            r.error("zookeeper.digest", "must be user:password");
        }
        ZooKeeper.Tls tls = r.zookeeperTls(z);
        boolean allowInsecure = r.bool(z, "zookeeper.allowInsecure", false);
        if (tls == null && !allowInsecure && !z.hasNonNull("tls")) {
            r.error("zookeeper.tls", "required: without TLS and client certificates anyone who reaches ZooKeeper "
                    + "can read and rewrite the cluster's state; give keyStore, keyStorePasswordFile, trustStore and "
                    + "trustStorePasswordFile, or accept an insecure ZooKeeper with zookeeper.allowInsecure: true");
            if (!digest.isEmpty()) {
                r.error("zookeeper.digest", "without zookeeper.tls its password crosses the network in clear text");
            }
        }
        JsonNode hb = r.section(root, "heartbeat", Set.of("bind", "keyFile"));
        InetSocketAddress bind = r.address(hb, "heartbeat.bind", "0.0.0.0:7405");
        String key = r.text(hb, "heartbeat.keyFile", "/etc/havn/cluster.key");
        JsonNode lv = r.section(root, "libvirt", Set.of("uri", "callTimeoutMs", "workers", "pollMs", "peerUri",
                "sharedStorage"));
        Libvirt libvirt = new Libvirt(r.text(lv, "libvirt.uri", "qemu:///system"),
                r.integer(lv, "libvirt.callTimeoutMs", 30_000, 100, 3_600_000),
                r.integer(lv, "libvirt.workers", 4, 1, 64),
                r.integer(lv, "libvirt.pollMs", 1_000, 50, 60_000),
                r.text(lv, "libvirt.peerUri", "qemu+tcp://{host}/system"),
                r.absolutePaths(lv, "libvirt.sharedStorage"));
        if (!libvirt.peerUriTemplate().contains("{host}")) {
            r.error("libvirt.peerUri", "must contain {host}, replaced by a peer's host name");
        }
        Fence fence = r.fence(root);
        JsonNode wd = r.section(root, "watchdog", Set.of("stateFile", "required"));
        Path state = Path.of(r.text(wd, "watchdog.stateFile", "/run/havn/watchdog.state"));
        boolean watchdogRequired = r.bool(wd, "watchdog.required", true);
        JsonNode ad = r.section(root, "admin", Set.of("socket", "allowedUsers"));
        Path socket = Path.of(r.text(ad, "admin.socket", "/run/havn/admin.sock"));
        java.util.Set<String> users = new java.util.TreeSet<>();
        JsonNode au = ad.get("allowedUsers");
        if (au != null && !au.isNull()) {
            if (!au.isArray()) {
                r.error("admin.allowedUsers", "must be a list of user names");
            } else {
                au.forEach(u -> users.add(u.asText()));
            }
        }
        JsonNode me = r.section(root, "metrics", Set.of("enabled", "bind"));
        Metrics metrics = new Metrics(r.bool(me, "metrics.enabled", true),
                r.address(me, "metrics.bind", "127.0.0.1:9464"));
        JsonNode lg = r.section(root, "logging", Set.of("format", "level"));
        String format = r.choice(lg, "logging.format", "console", Set.of("console", "json"));
        Logging logging = new Logging(Logging.Format.valueOf(format.toUpperCase(java.util.Locale.ROOT)),
                r.choice(lg, "logging.level", "info", LOG_LEVELS));
        Settings settings = Settings.defaults();
        JsonNode s = root.get("settings");
        if (s != null && !s.isNull()) {
            if (!s.isObject()) {
                r.error("settings", "must be a mapping of setting names to values");
            } else {
                Map<String, Object> overrides = new LinkedHashMap<>();
                s.fields().forEachRemaining(e -> overrides.put(e.getKey(), yaml.convertValue(e.getValue(), Object.class)));
                Object t = overrides.get("sessionTimeoutMs");
                if (t != null && !String.valueOf(t).equals(String.valueOf(sessionMs))) {
                    r.error("settings.sessionTimeoutMs", "the session timeout is zookeeper.sessionTimeoutMs ("
                            + sessionMs + "); set it there only");
                }
                overrides.put("sessionTimeoutMs", sessionMs);
                try {
                    settings = Settings.defaults().with(overrides);
                } catch (IllegalArgumentException e) {
                    r.error("settings", e.getMessage());
                }
            }
        } else {
            try {
                settings = Settings.defaults().with(Map.of("sessionTimeoutMs", sessionMs));
            } catch (IllegalArgumentException e) {
                r.error("zookeeper.sessionTimeoutMs", e.getMessage());
            }
        }
        r.done();
        return new HavnConfig(cluster, new Host(name, cap, address == null ? bind : address, stateDir),
                new ZooKeeper(connect, sessionMs, digest.isEmpty() ? null : digest, tls, allowInsecure),
                new Heartbeat(bind, Path.of(key)), libvirt, fence, new Watchdog(state, watchdogRequired),
                new Admin(socket, Set.copyOf(users)),
                metrics, logging, settings);
    }

    /** Collects every problem with its key, then throws them together. */
    private static final class Reader {
        private final String source;
        private final List<String> errors = new ArrayList<>();

        Reader(String source) {
            this.source = source;
        }

        void error(String key, String what) {
            errors.add(key + ": " + what);
        }

        void done() {
            if (!errors.isEmpty()) {
                throw new ConfigException(source + ": " + String.join("; ", errors));
            }
        }

        void only(JsonNode node, String prefix, Set<String> known) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!known.contains(k)) {
                    error(prefix + k, "unknown key (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
                }
            }
        }

        JsonNode section(JsonNode root, String name, Set<String> keys) {
            JsonNode n = root.get(name);
            if (n == null || n.isNull()) {
                return new ObjectMapper().createObjectNode();
            }
            if (!n.isObject()) {
                error(name, "must be a mapping");
                return new ObjectMapper().createObjectNode();
            }
            only(n, name + ".", keys);
            return n;
        }

        private JsonNode field(JsonNode section, String key) {
            return section.get(key.substring(key.lastIndexOf('.') + 1));
        }

        String text(JsonNode section, String key, String dflt) {
            JsonNode n = field(section, key);
            if (n == null || n.isNull()) {
                if (dflt == null) {
                    error(key, "required");
                    return "";
                }
                return dflt;
            }
            if (!n.isValueNode() || n.asText().isBlank()) {
                error(key, "must be a non-empty string");
                return dflt == null ? "" : dflt;
            }
            return n.asText();
        }

        String name(JsonNode root, String key, boolean required) {
            String v = text(root, key, required ? null : "");
            if (!v.isEmpty() && !v.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
                error(key, "'" + v + "' is not a valid name (letters, digits, '.', '_', '-')");
            }
            return v;
        }

        HostId hostId(JsonNode section, String key) {
            String v = text(section, key, null);
            try {
                return new HostId(v);
            } catch (IllegalArgumentException e) {
                if (!v.isEmpty()) {
                    error(key, e.getMessage());
                }
                return new HostId("invalid");
            }
        }

        int integer(JsonNode section, String key, int dflt, int min, int max) {
            JsonNode n = field(section, key);
            if (n == null || n.isNull()) {
                if (dflt == 0) {
                    error(key, "required");
                }
                return Math.max(dflt, min);
            }
            if (!n.canConvertToInt() || !n.isIntegralNumber()) {
                error(key, "must be a whole number, got '" + n.asText() + "'");
                return Math.max(dflt, min);
            }
            int v = n.intValue();
            if (v < min || v > max) {
                error(key, "must be between " + min + " and " + max + ", got " + v);
                return Math.min(max, Math.max(min, v));
            }
            return v;
        }

        /** A list of absolute paths (normalised), empty when absent; names each bad entry by its index. */
        List<Path> absolutePaths(JsonNode section, String key) {
            JsonNode n = field(section, key);
            List<Path> out = new ArrayList<>();
            if (n == null || n.isNull()) {
                return out;
            }
            if (!n.isArray()) {
                error(key, "must be a list of absolute paths");
                return out;
            }
            for (int i = 0; i < n.size(); i++) {
                JsonNode e = n.get(i);
                String v = e.isTextual() ? e.asText() : "";
                try {
                    if (!v.startsWith("/")) {
                        throw new InvalidPathException(v, "not absolute");
                    }
                    out.add(Path.of(v).normalize());
                } catch (InvalidPathException bad) {
                    error(key + "[" + i + "]", "must be an absolute path, got '" + e.asText() + "'");
                }
            }
            return out;
        }

        /** An absolute path (normalised), {@code dflt} when absent. */
        Path absolutePath(JsonNode section, String key, String dflt) {
            String v = text(section, key, dflt);
            try {
                if (v.startsWith("/")) {
                    return Path.of(v).normalize();
                }
            } catch (InvalidPathException bad) {
                // reported below
            }
            error(key, "must be an absolute path, got '" + v + "'");
            return Path.of(dflt);
        }

        /** {@code zookeeper.tls}, or null when absent (or bad, which is reported). */
        ZooKeeper.Tls zookeeperTls(JsonNode zookeeper) {
            JsonNode t = zookeeper.get("tls");
            if (t == null || t.isNull()) {
                return null;
            }
            if (!t.isObject()) {
                error("zookeeper.tls", "must be a mapping with keyStore, keyStorePasswordFile, trustStore and "
                        + "trustStorePasswordFile");
                return null;
            }
            only(t, "zookeeper.tls.", Set.of("keyStore", "keyStorePasswordFile", "trustStore",
                    "trustStorePasswordFile"));
            Path keyStore = requiredAbsolutePath(t, "zookeeper.tls.keyStore");
            Path keyPassword = requiredAbsolutePath(t, "zookeeper.tls.keyStorePasswordFile");
            Path trustStore = requiredAbsolutePath(t, "zookeeper.tls.trustStore");
            Path trustPassword = requiredAbsolutePath(t, "zookeeper.tls.trustStorePasswordFile");
            if (keyStore == null || keyPassword == null || trustStore == null || trustPassword == null) {
                return null;
            }
            return new ZooKeeper.Tls(keyStore, keyPassword, trustStore, trustPassword);
        }

        /** A required absolute path (normalised), or null when it is missing or bad, which is reported. */
        Path requiredAbsolutePath(JsonNode section, String key) {
            String v = text(section, key, null);
            if (v.isEmpty()) {
                return null;
            }
            try {
                if (v.startsWith("/")) {
                    return Path.of(v).normalize();
                }
            } catch (InvalidPathException bad) {
                // reported below
            }
            error(key, "must be an absolute path, got '" + v + "'");
            return null;
        }

        boolean bool(JsonNode section, String key, boolean dflt) {
            JsonNode n = field(section, key);
            if (n == null || n.isNull()) {
                return dflt;
            }
            if (!n.isBoolean()) {
                error(key, "must be true or false, got '" + n.asText() + "'");
                return dflt;
            }
            return n.booleanValue();
        }

        /** One of {@code allowed}, or {@code dflt} when absent. */
        String choice(JsonNode section, String key, String dflt, Set<String> allowed) {
            String v = text(section, key, dflt);
            if (!allowed.contains(v)) {
                error(key, "must be one of " + String.join(", ", new java.util.TreeSet<>(allowed)) + ", got '" + v + "'");
                return dflt;
            }
            return v;
        }

        InetSocketAddress address(JsonNode section, String key, String dflt) {
            String v = text(section, key, dflt == null ? "" : dflt);
            if (v.isEmpty()) {
                return null;
            }
            int colon = v.lastIndexOf(':');
            if (colon <= 0 || colon == v.length() - 1) {
                error(key, "must be host:port, got '" + v + "'");
                return null;
            }
            try {
                int port = Integer.parseInt(v.substring(colon + 1));
                if (port < 1 || port > 65535) {
                    error(key, "port must be 1-65535, got " + port);
                    return null;
                }
                return InetSocketAddress.createUnresolved(v.substring(0, colon), port);
            } catch (NumberFormatException e) {
                error(key, "must be host:port, got '" + v + "'");
                return null;
            }
        }

        Fence fence(JsonNode root) {
            JsonNode f = section(root, "fence", Set.of("devices", "device"));
            Map<String, FenceDevice> devices = new LinkedHashMap<>();
            JsonNode ds = f.get("devices");
            if (ds != null && !ds.isNull()) {
                if (!ds.isObject()) {
                    error("fence.devices", "must be a mapping of device names to {agent, options}");
                } else {
                    ds.fields().forEachRemaining(e -> {
                        String k = "fence.devices." + e.getKey();
                        JsonNode d = e.getValue();
                        if (d == null || !d.isObject()) {
                            error(k, "must be a mapping with agent and options");
                            return;
                        }
                        only(d, k + ".", Set.of("agent", "options"));
                        String agent = text(d, k + ".agent", null);
                        Map<String, String> options = new LinkedHashMap<>();
                        JsonNode o = d.get("options");
                        if (o != null && !o.isNull()) {
                            if (!o.isObject()) {
                                error(k + ".options", "must be a mapping of option names to values");
                            } else {
                                o.fields().forEachRemaining(oe -> options.put(oe.getKey(), oe.getValue().asText()));
                            }
                        }
                        try {
                            devices.put(e.getKey(), new FenceDevice(agent, options));
                        } catch (IllegalArgumentException bad) {
                            error(k, bad.getMessage());
                        }
                    });
                }
            }
            String device = f.has("device") && !f.get("device").isNull() ? f.get("device").asText() : null;
            if (device != null && !devices.containsKey(device)) {
                error("fence.device", "'" + device + "' is not one of fence.devices " + devices.keySet());
            }
            return new Fence(Map.copyOf(devices), device);
        }
    }

    /** A configuration problem; the message names the file and every bad key. */
    public static final class ConfigException extends RuntimeException {
        public ConfigException(String message) {
            super(message);
        }
    }
}
