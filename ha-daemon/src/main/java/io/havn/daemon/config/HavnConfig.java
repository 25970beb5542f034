package io.havn.daemon.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.node.Role;
import io.havn.common.node.Settings;
import io.havn.daemon.fence.FenceAgentFencer;
import io.havn.daemon.coord.RecordSeal;
import io.havn.daemon.fence.FenceDevice;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
 * @param storage    the storage heartbeat's datastores, and the hosts that share them (none by default)
 * @param settings   the node's timing and policy settings (defaults overridden by the file's {@code settings})
 */
public record HavnConfig(String cluster, Host host, ZooKeeper zookeeper, Heartbeat heartbeat, Libvirt libvirt,
                         Fence fence, Watchdog watchdog, Admin admin, Metrics metrics, Logging logging,
                         Storage storage, Settings settings) {

    /**
     * This host. {@code stateDir}: a directory on the host's disk (not a tmpfs) for what must
     * outlive a reboot, such as the last incarnation of the daemon.
     */
    public record Host(HostId name, HostCapacity capacity, InetSocketAddress address, Path stateDir) { }

    /**
     * The coordination service. {@code tls}: how to reach it over TLS with this host's certificate,
     * or null; {@code allowInsecure}: the file accepts a ZooKeeper without TLS in so many words
     * (a file without {@code tls} is refused otherwise); {@code unsignedRecords}: refuse (the
     * default), accept or write records without a seal of the cluster key; the last two only while
     * upgrading from a version before seals (SECURITY.md).
     */
    public record ZooKeeper(String connect, int sessionTimeoutMs, String digest, Tls tls, boolean allowInsecure,
                            RecordSeal.Unsigned unsignedRecords) {
        /** The key store (this host's key and certificate), the trust store (the CA), and the files of their passwords. */
        public record Tls(Path keyStore, Path keyStorePasswordFile, Path trustStore, Path trustStorePasswordFile) { }
    }

    /**
     * The heartbeat socket: where it listens, the cluster key's file, and the receive buffer asked
     * of the kernel (SO_RCVBUF; the kernel grants at most {@code net.core.rmem_max}).
     */
    public record Heartbeat(InetSocketAddress bind, Path keyFile, int receiveBufferBytes) { }

    /**
     * The local libvirt. {@code sharedStorage}: the directories (or device paths) every host reaches
     * alike; a VM's disks and every other host path its domain XML names must lie under one of them
     * (checked by {@code havnctl vm add}, and by the daemon on vm-add and before every start).
     * {@code allowPassthrough}: whether a domain may pass host devices through; {@code emulators}:
     * the emulator paths a domain may name.
     */
    public record Libvirt(String uri, int callTimeoutMs, int workers, int pollMs, String peerUriTemplate,
                          List<Path> sharedStorage, boolean allowPassthrough, List<String> emulators) {
        public Libvirt {
            sharedStorage = List.copyOf(sharedStorage);
            emulators = List.copyOf(emulators);
        }

        /** What this host lets a VM's domain XML ask of it. */
        public DomainPolicy domainPolicy() {
            return new DomainPolicy(sharedStorage.stream().map(Path::toString).toList(), allowPassthrough,
                    Set.copyOf(emulators));
        }
    }

    /** The devices by name, and the name of the device that fences this host (or null). */
    public record Fence(Map<String, FenceDevice> devices, String device) { }

    /**
     * The watchdog's state file, and whether HA VMs need a petter that verified the device's timeout
     * ({@code required}: false only for demos and tests, where no hardware watchdog guards anything).
     */
    public record Watchdog(Path stateFile, boolean required) { }

    /**
     * The admin socket, the group it is bound with (mode 0660), and the roles of users and groups
     * (root is always admin; a user with no role may not use the socket). A user's role is the
     * highest of its own and its groups'.
     */
    public record Admin(Path socket, String socketGroup, Map<String, Role> users, Map<String, Role> groups) {
        public Admin {
            users = Map.copyOf(users);
            groups = Map.copyOf(groups);
        }
    }

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

    /**
     * The storage heartbeat: every {@code settings.storageIntervalMs} this host writes a record to
     * its slot on each datastore and reads every host's slot there. {@code hosts}: every host that
     * shares the datastores, the same list on every host (this one may be left out: it is always a
     * member); each host's slot is its place among the members sorted by name.
     */
    public record Storage(List<HostId> hosts, List<Datastore> datastores) {
        /** At most this many hosts share a datastore's slot area (1 MiB). */
        public static final int MAX_HOSTS = 256;
        /** No storage heartbeat. */
        public static final Storage NONE = new Storage(List.of(), List.of());

        public Storage {
            hosts = List.copyOf(hosts);
            datastores = List.copyOf(datastores);
        }

        /**
         * One datastore: its name (as VMs name it, {@code VmSpec.DATASTORE_NAME}), and either a
         * {@code path} (a small shared block device, or a file on a shared filesystem) or a
         * {@code url} ({@code iscsi://} or {@code nfs://}, reached through QEMU's own initiator).
         */
        public record Datastore(String name, Path path, java.net.URI url) {
            public Datastore {
                Objects.requireNonNull(name, "name");
                if ((path == null) == (url == null)) {
                    throw new IllegalArgumentException("datastore " + name + ": exactly one of path and url");
                }
            }

            /** Where it is, as the config names it. */
            public String where() {
                return path != null ? path.toString() : url.toString();
            }
        }

        /** The members, sorted by name: {@code hosts} and {@code self}. */
        public List<HostId> members(HostId self) {
            java.util.TreeSet<HostId> all = new java.util.TreeSet<>(hosts);
            all.add(self);
            return List.copyOf(all);
        }
    }

    /** A user or group name as useradd and groupadd take it. */
    private static final java.util.regex.Pattern ACCOUNT = java.util.regex.Pattern.compile(
            "[A-Za-z_][A-Za-z0-9_.-]{0,31}");

    /** Keys an earlier havn knew, with what replaced them: refused with that, not as unknown keys. */
    private static final Map<String, String> REMOVED = Map.of("admin.allowedUsers", "replaced by roles: give each "
            + "user one in admin.users (e.g. {alice: operator}) or each group in admin.groups (read-only, operator "
            + "or admin)");

    private static final Set<String> LOG_LEVELS = Set.of("trace", "debug", "info", "warn", "error");

    /** Larger files are refused before they are parsed: the largest real config is a few KiB. */
    public static final int MAX_FILE_BYTES = 1024 * 1024;
    /** The IPv4 wildcard address: every address of this host. */
    private static final String WILDCARD_V4 = "0.0.0.0";

    private static final Set<String> TOP = Set.of("cluster", "host", "zookeeper", "heartbeat", "libvirt", "fence",
            "watchdog", "admin", "metrics", "logging", "storage", "settings");

    /**
     * Reads and checks {@code file}; throws {@link ConfigException} listing every problem. A file
     * larger than {@link #MAX_FILE_BYTES} is refused before it is parsed (at most that much is read).
     */
    public static HavnConfig load(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_BYTES + 1);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
        if (bytes.length > MAX_FILE_BYTES) {
            throw new ConfigException(file + ": larger than " + MAX_FILE_BYTES + " bytes (1 MiB); a havn config is a "
                    + "few KiB: is this the right file?");
        }
        return parse(new String(bytes, StandardCharsets.UTF_8), file.toString());
    }

    /** Checks the YAML {@code text}; {@code source} names it in messages. */
    public static HavnConfig parse(String text, String source) {
        if (text.length() > MAX_FILE_BYTES) {
            throw new ConfigException(source + ": larger than " + MAX_FILE_BYTES + " bytes (1 MiB); a havn config is a "
                    + "few KiB: is this the right file?");
        }
        ObjectMapper yaml = new ObjectMapper(YAMLFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());
        JsonNode root;
        try {
            root = yaml.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source + ": not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        }
        Reader r = new Reader(source, asWritten(yaml, text));
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
                "allowInsecure", "unsignedRecords"));
        String connect = r.text(z, "zookeeper.connect", null);
        int sessionMs = r.integer(z, "zookeeper.sessionTimeoutMs", 10_000, 2_000, 600_000);
        String digest = r.text(z, "zookeeper.digest", "");
        RecordSeal.Unsigned unsigned = RecordSeal.Unsigned.valueOf(r.choice(z, "zookeeper.unsignedRecords", "refuse",
                Set.of("refuse", "accept", "write")).toUpperCase(java.util.Locale.ROOT));
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
        JsonNode hb = r.section(root, "heartbeat", Set.of("bind", "keyFile", "receiveBufferBytes"));
        InetSocketAddress bind = r.address(hb, "heartbeat.bind", null);
        if (bind == null && address == null && !r.has(hb, "heartbeat.bind") && !r.has(h, "host.address")) {
            r.error("host.address", "required: the address:port the other daemons send this host's heartbeats to "
                    + "(heartbeat.bind, where they are received, defaults to it)");
        } else if (address == null && bind != null && wildcard(bind) && !r.has(h, "host.address")) {
            r.error("host.address", "required when heartbeat.bind is a wildcard address (" + bind.getHostString()
                    + "): the other daemons cannot send heartbeats there");
        }
        Path key = r.absolutePath(hb, "heartbeat.keyFile", "/etc/havn/cluster.key");
        int receiveBuffer = r.integer(hb, "heartbeat.receiveBufferBytes", 4 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024);
        JsonNode lv = r.section(root, "libvirt", Set.of("uri", "callTimeoutMs", "workers", "pollMs", "peerUri",
                "sharedStorage", "allowPassthrough", "emulators"));
        Libvirt libvirt = new Libvirt(r.text(lv, "libvirt.uri", "qemu:///system"),
                r.integer(lv, "libvirt.callTimeoutMs", 30_000, 100, 3_600_000),
                r.integer(lv, "libvirt.workers", 4, 1, 64),
                r.integer(lv, "libvirt.pollMs", 1_000, 50, 60_000),
                r.text(lv, "libvirt.peerUri", "qemu+tcp://{host}/system"),
                r.absolutePaths(lv, "libvirt.sharedStorage"),
                r.bool(lv, "libvirt.allowPassthrough", false),
                r.absolutePaths(lv, "libvirt.emulators", DomainPolicy.DEFAULT_EMULATORS).stream().map(Path::toString)
                        .toList());
        if (libvirt.sharedStorage().contains(Path.of("/"))) {
            r.error("libvirt.sharedStorage", "'/' would let a VM use every file and device of the host");
        }
        if (!libvirt.peerUriTemplate().contains("{host}")) {
            r.error("libvirt.peerUri", "must contain {host}, replaced by a peer's host name");
        }
        Fence fence = r.fence(root);
        JsonNode wd = r.section(root, "watchdog", Set.of("stateFile", "required"));
        Path state = r.absolutePath(wd, "watchdog.stateFile", "/run/havn/watchdog.state");
        boolean watchdogRequired = r.bool(wd, "watchdog.required", true);
        JsonNode ad = r.section(root, "admin", Set.of("socket", "socketGroup", "users", "groups"));
        Path socket = r.absolutePath(ad, "admin.socket", "/run/havn/admin.sock");
        String socketGroup = r.text(ad, "admin.socketGroup", "havn");
        if (!ACCOUNT.matcher(socketGroup).matches()) {
            r.error("admin.socketGroup", "'" + socketGroup + "' is not a valid group name");
        }
        Map<String, Role> users = r.roles(ad, "admin.users");
        if (users.containsKey("root")) {
            r.error("admin.users.root", "root is always admin; leave it out");
        }
        Map<String, Role> groups = r.roles(ad, "admin.groups");
        JsonNode me = r.section(root, "metrics", Set.of("enabled", "bind"));
        Metrics metrics = new Metrics(r.bool(me, "metrics.enabled", true),
                r.address(me, "metrics.bind", "127.0.0.1:9464"));
        JsonNode lg = r.section(root, "logging", Set.of("format", "level"));
        String format = r.choice(lg, "logging.format", "console", Set.of("console", "json"));
        Logging logging = new Logging(Logging.Format.valueOf(format.toUpperCase(java.util.Locale.ROOT)),
                r.choice(lg, "logging.level", "info", LOG_LEVELS));
        Storage storage = r.storage(r.section(root, "storage", Set.of("hosts", "datastores")));
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
                new ZooKeeper(connect, sessionMs, digest.isEmpty() ? null : digest, tls, allowInsecure, unsigned),
                new Heartbeat(bind == null ? address : bind, key, receiveBuffer), libvirt, fence,
                new Watchdog(state, watchdogRequired),
                new Admin(socket, socketGroup, users, groups),
                metrics, logging, storage, settings);
    }

    /** Whether {@code a} is this host's every address (0.0.0.0, ::): good to listen on, not to send to. */
    private static boolean wildcard(InetSocketAddress a) {
        String h = a.getHostString();
        return h.equals(WILDCARD_V4) || h.replaceAll("[\\[\\]]", "").matches("[0:]+");
    }

    /**
     * The file's tree with every scalar as the text written: YAML reads {@code 0x5e} and
     * {@code 0123} as numbers (94, 83), {@code yes} as true, but a fence agent must get what the
     * operator wrote. Null if the text does not parse (the typed tree reports that).
     */
    private static JsonNode asWritten(ObjectMapper yaml, String text) {
        try (JsonParser typed = yaml.getFactory().createParser(text);
             JsonParser plain = new JsonParserDelegate(typed) {
                 @Override
                 public JsonToken nextToken() throws IOException {
                     JsonToken t = super.nextToken();
                     return t != null && t.isScalarValue() && t != JsonToken.VALUE_NULL ? JsonToken.VALUE_STRING : t;
                 }

                 @Override
                 public JsonToken currentToken() {
                     JsonToken t = super.currentToken();
                     return t != null && t.isScalarValue() && t != JsonToken.VALUE_NULL ? JsonToken.VALUE_STRING : t;
                 }

                 @Override
                 public boolean hasToken(JsonToken t) {
                     return currentToken() == t;
                 }
             }) {
            return yaml.readTree(plain);
        } catch (IOException e) {
            return null;
        }
    }

    /** Collects every problem with its key, then throws them together. */
    private static final class Reader {
        private final String source;
        /** The file as written: see {@link #asWritten}. */
        private final JsonNode written;
        private final List<String> errors = new ArrayList<>();

        Reader(String source, JsonNode written) {
            this.source = source;
            this.written = written;
        }

        /** The text written for the scalar at {@code path}, or {@code parsed}'s text if it cannot be found. */
        String writtenText(JsonNode parsed, String... path) {
            JsonNode n = written;
            for (String p : path) {
                n = n == null ? null : n.get(p);
            }
            return n != null && n.isTextual() ? n.textValue() : parsed.asText();
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
                if (REMOVED.containsKey(prefix + k)) {
                    error(prefix + k, REMOVED.get(prefix + k));
                } else if (!known.contains(k)) {
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

        /** Whether {@code key} is given (null or not), so that a bad value is not also reported missing. */
        boolean has(JsonNode section, String key) {
            return field(section, key) != null;
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
            return absolutePaths(section, key, Set.of());
        }

        /** A list of absolute paths (normalised), {@code dflt} when absent; names each bad entry by its index. */
        List<Path> absolutePaths(JsonNode section, String key, Set<String> dflt) {
            JsonNode n = field(section, key);
            List<Path> out = new ArrayList<>();
            if (n == null || n.isNull()) {
                dflt.stream().sorted().map(Path::of).forEach(out::add);
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
                    if (!v.startsWith("/") || List.of(v.split("/")).contains("..")) {
                        throw new InvalidPathException(v, "not absolute, or holds '..'");
                    }
                    out.add(Path.of(v).normalize());
                } catch (InvalidPathException bad) {
                    error(key + "[" + i + "]", "must be an absolute path without '..', got "
                            + (e.isTextual() ? "'" + e.asText() + "'" : e.getNodeType().name().toLowerCase(
                            java.util.Locale.ROOT) + " " + e));
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

        /**
         * A mapping of user or group names to roles, empty when absent; each bad name or role is an
         * error naming its key.
         */
        Map<String, Role> roles(JsonNode section, String key) {
            JsonNode n = field(section, key);
            Map<String, Role> out = new java.util.TreeMap<>();
            if (n == null || n.isNull()) {
                return out;
            }
            if (!n.isObject()) {
                error(key, "must be a mapping of names to roles (read-only, operator or admin), got "
                        + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + n);
                return out;
            }
            n.fields().forEachRemaining(e -> {
                String k = key + "." + e.getKey();
                if (!ACCOUNT.matcher(e.getKey()).matches()) {
                    error(key, "'" + e.getKey().replaceAll("\\p{Cntrl}", "?") + "' is not a valid name");
                    return;
                }
                JsonNode v = e.getValue();
                try {
                    if (v == null || !v.isTextual()) {
                        throw new IllegalArgumentException("must be read-only, operator or admin, got " + v);
                    }
                    out.put(e.getKey(), Role.parse(v.asText()));
                } catch (IllegalArgumentException bad) {
                    error(k, bad.getMessage());
                }
            });
            return out;
        }

        /** {@code storage}: its hosts and datastores, each bad entry named by its index. */
        Storage storage(JsonNode st) {
            List<HostId> hosts = new ArrayList<>();
            JsonNode hs = st.get("hosts");
            if (hs != null && !hs.isNull() && !(hs.isTextual() && hs.asText().isEmpty())) {
                if (!hs.isArray()) {
                    error("storage.hosts", "must be a list of host names");
                } else {
                    for (int i = 0; i < hs.size(); i++) {
                        JsonNode h = hs.get(i);
                        try {
                            HostId id = new HostId(h.isTextual() ? h.asText() : "");
                            if (hosts.contains(id)) {
                                error("storage.hosts[" + i + "]", "'" + id + "' is listed twice");
                            } else {
                                hosts.add(id);
                            }
                        } catch (IllegalArgumentException e) {
                            error("storage.hosts[" + i + "]", h.isTextual() ? e.getMessage() : "must be a host name");
                        }
                    }
                    if (hosts.size() > Storage.MAX_HOSTS) {
                        error("storage.hosts", "at most " + Storage.MAX_HOSTS + " hosts, got " + hosts.size());
                    }
                }
            }
            List<Storage.Datastore> datastores = new ArrayList<>();
            JsonNode ds = st.get("datastores");
            // "datastores:" with nothing after it (the template's, uncommented) is none
            if (ds != null && !ds.isNull() && !(ds.isTextual() && ds.asText().isEmpty())) {
                if (!ds.isArray()) {
                    error("storage.datastores", "must be a list of {name, path} or {name, url}");
                } else {
                    for (int i = 0; i < ds.size(); i++) {
                        Storage.Datastore d = datastore(ds.get(i), "storage.datastores[" + i + "]");
                        if (d == null) {
                            continue;
                        }
                        if (datastores.stream().anyMatch(o -> o.name().equals(d.name()))) {
                            error("storage.datastores[" + i + "].name", "'" + d.name() + "' names two datastores");
                        } else if (datastores.stream().anyMatch(o -> o.where().equals(d.where()))) {
                            error("storage.datastores[" + i + "]", d.where() + " is also another datastore's");
                        } else {
                            datastores.add(d);
                        }
                    }
                }
            }
            if (!datastores.isEmpty() && hosts.isEmpty()) {
                error("storage.hosts", "required with storage.datastores: every host that shares them, the same "
                        + "list on every host (each host's slot is its place in it)");
            }
            return new Storage(hosts, datastores);
        }

        /** One entry of {@code storage.datastores}, or null when it is bad (which is reported). */
        private Storage.Datastore datastore(JsonNode d, String key) {
            if (d == null || !d.isObject()) {
                error(key, "must be a mapping: {name, path} or {name, url}");
                return null;
            }
            only(d, key + ".", Set.of("name", "path", "url"));
            String name = text(d, key + ".name", null);
            if (!name.isEmpty() && !io.havn.common.model.VmSpec.DATASTORE_NAME.matcher(name).matches()) {
                error(key + ".name", "'" + name + "' is not a datastore name (1-63 letters, digits, '.', '_', '-', "
                        + "starting with a letter or digit)");
                name = "";
            }
            boolean hasPath = d.hasNonNull("path");
            boolean hasUrl = d.hasNonNull("url");
            if (hasPath == hasUrl) {
                error(key, hasPath ? "give path or url, not both" : "needs path (a shared block device or a file on "
                        + "a shared filesystem) or url (iscsi:// or nfs://)");
                return null;
            }
            Path path = null;
            java.net.URI url = null;
            if (hasPath) {
                String v = text(d, key + ".path", null);
                if (v.isEmpty()) {
                    return null;
                }
                if (!v.startsWith("/") || List.of(v.split("/")).contains("..")) {
                    error(key + ".path", "must be an absolute path without '..', got '" + v + "'");
                    return null;
                }
                try {
                    path = Path.of(v).normalize();
                } catch (InvalidPathException e) {
                    error(key + ".path", "not a path: '" + v + "'");
                    return null;
                }
            } else {
                String v = text(d, key + ".url", null);
                if (v.isEmpty()) {
                    return null;
                }
                String problem = io.havn.daemon.storage.DatastoreUrl.problem(v);
                if (problem != null) {
                    error(key + ".url", problem);
                    return null;
                }
                url = java.net.URI.create(v);
            }
            return name.isEmpty() ? null : new Storage.Datastore(name, path, url);
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

        /**
         * A fence agent: an absolute path, or a bare program name, which is looked up in
         * {@code /usr/sbin} where fence-agents installs it (never through PATH). A relative path
         * would be looked up from wherever the daemon was started.
         */
        String agent(JsonNode device, String key) {
            String v = text(device, key, null);
            if (v.isEmpty()) {
                return v;
            }
            if (v.indexOf('/') < 0) {
                return FenceAgentFencer.agentPath(v).toString();
            }
            try {
                if (v.startsWith("/")) {
                    return Path.of(v).normalize().toString();
                }
            } catch (InvalidPathException bad) {
                // reported below
            }
            error(key, "must be an absolute path (or a program name in /usr/sbin), got '" + v + "'");
            return v;
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
                        String agent = agent(d, k + ".agent");
                        Map<String, String> options = new LinkedHashMap<>();
                        JsonNode o = d.get("options");
                        if (o != null && !o.isNull()) {
                            if (!o.isObject()) {
                                error(k + ".options", "must be a mapping of option names to values");
                            } else {
                                o.fields().forEachRemaining(oe -> {
                                    JsonNode v = oe.getValue();
                                    if (v.isValueNode() && !v.isNull()) {
                                        options.put(oe.getKey(), writtenText(v, "fence", "devices", e.getKey(), "options",
                                                oe.getKey()));
                                    } else {
                                        // an agent reads one key=value line per option: a list or mapping has no such form
                                        error(k + ".options." + oe.getKey(), "must be a string, number or true/false, got "
                                                + (v.isNull() ? "no value" : v.isArray() ? "a list" : "a mapping"));
                                    }
                                });
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
