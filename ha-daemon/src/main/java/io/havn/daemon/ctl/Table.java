package io.havn.daemon.ctl;

import io.havn.common.domain.DomainPolicy;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain text table: a header row and left-aligned columns two spaces apart, no trailing blanks.
 * Cells come from the cluster state, which others wrote: control characters are shown escaped
 * ({@code \u000a}), so no cell can start a line of its own or move the cursor.
 */
final class Table {
    private final List<String[]> rows = new ArrayList<>();
    private final int columns;

    Table(String... headers) {
        columns = headers.length;
        rows.add(headers);
    }

    Table row(String... cells) {
        if (cells.length != columns) {
            throw new IllegalArgumentException("a row of " + cells.length + " cells in a table of " + columns);
        }
        String[] shown = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            shown[i] = DomainPolicy.printable(cells[i]);
        }
        rows.add(shown);
        return this;
    }

    /** The table, each line starting with {@code indent} and ending with a newline. */
    String render(String indent) {
        int[] width = new int[columns];
        for (String[] r : rows) {
            for (int i = 0; i < columns; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder(indent);
            for (int i = 0; i < columns; i++) {
                line.append(r[i]);
                if (i < columns - 1) {
                    line.append(" ".repeat(width[i] - r[i].length() + 2));
                }
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }
}
