package io.havn.daemon.fence;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A configured fence device: the fence-agents program to run and the options it reads on its
 * standard input, one {@code key=value} line each ({@code ip}, {@code username}, {@code password},
 * {@code plug}...). The fencer adds the {@code action} line itself, so options may not set it.
 *
 * <p>{@link #toString()} and {@link #redact} show only the values of options known to be harmless
 * ({@link #HARMLESS}: addresses, the login name, the plug, transport flags, timeouts); every other
 * value is shown as {@code ***}. An agent's secrets go by many names ({@code password},
 * {@code community}, {@code key}, {@code hexadecimal_kg}, {@code secret_key}, an agent's own option),
 * so only a list of what may be shown can be complete; an option missing from it is hidden, which
 * costs some readability of a failure message, never a secret.
 *
 * @param agent   path of the agent program, e.g. {@code /usr/sbin/fence_ipmilan}
 * @param options the agent's options, sent in this order
 */
public record FenceDevice(String agent, Map<String, String> options) {
    /** The fence-agents input format allows no spaces and, sensibly, no '=' in a name. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*");
    /** A stdin this small fits a pipe's buffer (64 KiB on Linux): writing it never blocks. */
    static final int MAX_INPUT_BYTES = 16 * 1024;
    private static final String HIDDEN = "***";

    /**
     * Options whose values are not secret, as fence-agents name them on stdin (its {@code fencing.py}
     * option table and the agents' own options; a '-' is read as '_'): where the device is, who logs
     * in, which outlet or VM, how to talk to it, and how long to wait.
     */
    static final Set<String> HARMLESS = Set.of(
            // where: the device's address and port
            "ip", "ipaddr", "ipport", "inet4_only", "inet6_only",
            // who: the login name (never its password)
            "username", "login", "no_login", "no_password", "privlvl", "auth",
            // which: the outlet, blade, VM or node to act on
            "plug", "port", "switch", "port_as_ip", "plug_separator", "separator", "no_port", "target",
            "vmware_type", "vmware_datacenter", "systems_uri", "redfish_uri", "devices", "nodename",
            // how: transport and protocol choices, none of them a credential
            "method", "ssl", "ssl_insecure", "ssl_secure", "notls", "secure", "telnet", "lanplus", "cipher",
            "snmp_version", "snmp_auth_prot", "snmp_sec_level", "snmp_priv_prot", "aptpl", "readonly",
            "missing_as_off", "on_target", "sudo", "verbose", "verbose_level", "quiet",
            // when: delays and timeouts
            "delay", "login_timeout", "shell_timeout", "power_timeout", "power_wait", "disable_timeout",
            "stonith_status_sleep", "retry_on", "ipmitool_timeout");

    public FenceDevice {
        Objects.requireNonNull(agent, "fence device agent");
        if (agent.isBlank()) {
            throw new IllegalArgumentException("fence device agent: must name the agent program, e.g. /usr/sbin/fence_ipmilan");
        }
        Map<String, String> copy = new LinkedHashMap<>();
        int bytes = 0;
        for (Map.Entry<String, String> e : Objects.requireNonNull(options, "fence device options").entrySet()) {
            String key = e.getKey();
            String value = e.getValue() == null ? "" : e.getValue();
            if (key == null || !NAME.matcher(key).matches()) {
                throw new IllegalArgumentException("fence device option '" + key
                        + "': use letters, digits, '_', '.' or '-', without spaces or '='");
            }
            if (key.equalsIgnoreCase("action") || key.equalsIgnoreCase("option")) {
                throw new IllegalArgumentException("fence device option '" + key
                        + "': the fencer sets the action itself (off, then status)");
            }
            if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("fence device option '" + key + "': a value may not contain a line break");
            }
            copy.put(key, value);
            bytes += (key + value).getBytes(StandardCharsets.UTF_8).length + 2;
        }
        if (bytes > MAX_INPUT_BYTES - 64) {
            throw new IllegalArgumentException("fence device options: longer than " + (MAX_INPUT_BYTES - 64) + " bytes");
        }
        options = Collections.unmodifiableMap(copy);
    }

    /** Whether the value of option {@code key} must never be shown: every option not known to be harmless. */
    public static boolean isSecret(String key) {
        return !HARMLESS.contains(key.toLowerCase(Locale.ROOT).replace('-', '_'));
    }

    /**
     * {@code text} with every value of this device that may be secret replaced by {@code ***}. The
     * longest values go first, so that a secret holding a shorter one is still hidden whole.
     */
    public String redact(String text) {
        if (text == null) {
            return null;
        }
        List<String> secrets = new ArrayList<>();
        options.forEach((k, v) -> {
            if (isSecret(k) && !v.isEmpty()) {
                secrets.add(v);
            }
        });
        secrets.sort(Comparator.comparingInt(String::length).reversed());
        String out = text;
        for (String secret : secrets) {
            out = out.replace(secret, HIDDEN);
        }
        return out;
    }

    /** What the agent reads on its standard input for {@code action}: the options, then the action last. */
    byte[] input(String action) {
        StringBuilder sb = new StringBuilder();
        options.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        sb.append("action=").append(action).append('\n');
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("FenceDevice[agent=").append(agent).append(", options={");
        String sep = "";
        for (Map.Entry<String, String> e : options.entrySet()) {
            sb.append(sep).append(e.getKey()).append('=').append(isSecret(e.getKey()) ? HIDDEN : e.getValue());
            sep = ", ";
        }
        return sb.append("}]").toString();
    }
}
