package io.havn.sim.scenario;

import java.util.Locale;

/** How failed hosts are fenced: only by their own watchdog ({@code none}), or also by a fence device. */
public enum Fencing {
    NONE, DEVICE;

    /** The name used in scenario files: {@code none} or {@code device}. */
    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code none} or {@code device}; names the bad value otherwise. */
    public static Fencing parse(String text) {
        for (Fencing f : values()) {
            if (f.text().equals(text)) {
                return f;
            }
        }
        throw new IllegalArgumentException("invalid fencing '" + text + "': expected none or device");
    }
}
