package io.havn.daemon.fence;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A configured fence device: the fence-agents program to run and the options it reads on its
 * standard input, one {@code key=value} line each ({@code ip}, {@code username}, {@code password},
 * {@code plug}...). The fencer adds the {@code action} line itself, so options may not set it.
 *
 * <p>{@link #toString()} and {@link #redact} hide secret values: an option whose name contains
 * {@code passw}, {@code secret} or {@code token} (so {@code password}, {@code passwd},
 * {@code snmp_priv_passwd}, {@code secret_key}...).
 *
 * @param agent   path of the agent program, e.g. {@code /usr/sbin/fence_ipmilan}
 * @param options the agent's options, sent in this order
 */
public record FenceDevice(String agent, Map<String, String> options) {
    /** The fence-agents input format allows no spaces and, sensibly, no '=' in a name. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*");
    /** A stdin this small fits a pipe's buffer (64 KiB on Linux): writing it never blocks. */
    static final int MAX_INPUT_BYTES = 16 * 1024;
    private static final String HIDDEN = "******";

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

    /** Whether the value of option {@code key} must never be shown. */
    public static boolean isSecret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return k.contains("passw") || k.contains("secret") || k.contains("token");
    }

    /** {@code text} with every secret option value of this device replaced by asterisks. */
    public String redact(String text) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (Map.Entry<String, String> e : options.entrySet()) {
            if (isSecret(e.getKey()) && !e.getValue().isEmpty()) {
                out = out.replace(e.getValue(), HIDDEN);
            }
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
