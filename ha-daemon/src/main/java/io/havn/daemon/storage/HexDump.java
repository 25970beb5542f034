package io.havn.daemon.storage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes in {@code qemu-io}'s dump of a read ({@code read -v OFFSET LENGTH}): one line per 16
 * bytes, {@code "%08x:  "}, then each byte as two hex digits and a space, then the bytes as text.
 * Every other line of its output (the read's statistics, a write's, its errors) is not part of the
 * dump and is kept as a message.
 */
final class HexDump {
    private HexDump() {
    }

    /**
     * The {@code length} bytes dumped in {@code output} from offset {@code from}. An IOException
     * when the dump does not hold exactly those bytes, in order: it carries qemu-io's other lines,
     * which say why.
     */
    static byte[] parse(String output, long from, int length) throws IOException {
        byte[] out = new byte[length];
        long next = from;
        List<String> others = new ArrayList<>();
        for (String line : output.split("\n", -1)) {
            int n = dumpLine(line, out, from, next);
            if (n < 0) {
                if (!line.isBlank()) {
                    others.add(line.strip());
                }
                continue;
            }
            next += n;
        }
        if (next - from != length) {
            throw new IOException("qemu-io dumped " + (next - from) + " of " + length + " bytes"
                    + (others.isEmpty() ? "" : ": " + String.join("; ", others)));
        }
        return out;
    }

    /**
     * Reads one dump line, which must begin at offset {@code expected}, into {@code out} (which
     * begins at {@code from}); returns how many bytes it held, or -1 when it is no dump line.
     */
    private static int dumpLine(String line, byte[] out, long from, long expected) throws IOException {
        if (line.length() < 13 || line.charAt(8) != ':' || line.charAt(9) != ' ' || line.charAt(10) != ' ') {
            return -1;
        }
        long offset;
        try {
            offset = Long.parseLong(line.substring(0, 8), 16);
        } catch (NumberFormatException e) {
            return -1;
        }
        int n = 0;
        int at = 11;
        while (n < 16 && hex(line, at) >= 0 && hex(line, at + 1) >= 0
                && (at + 2 == line.length() || line.charAt(at + 2) == ' ')) {
            if (offset != expected) {
                throw new IOException("qemu-io's dump jumps from offset " + expected + " to " + offset);
            }
            if (offset + n - from >= out.length) {
                throw new IOException("qemu-io dumped more than the " + out.length + " bytes read");
            }
            out[(int) (offset + n - from)] = (byte) (hex(line, at) << 4 | hex(line, at + 1));
            n++;
            at += 3;
        }
        return n == 0 ? -1 : n;
    }

    private static int hex(String s, int i) {
        if (i >= s.length()) {
            return -1;
        }
        char c = s.charAt(i);
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    }
}
