package io.havn.daemon.log;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Set;
import org.slf4j.event.KeyValuePair;

/**
 * One JSON object per log event, on one line: {@code ts} (ISO-8601), {@code level},
 * {@code logger}, {@code thread}, {@code msg}, then each SLF4J key-value pair as a field of its
 * own (numbers and booleans keep their type), and {@code exception} with the stack trace when
 * there is one. Logback's own {@code JsonEncoder} puts key-value pairs in a list of one-field
 * objects, which log shippers cannot index by name; hence this small encoder.
 *
 * <p>A pair whose key is one of the fixed fields is written as {@code kv_<key>}, so no key is
 * ever written twice.
 */
public final class JsonLineEncoder extends EncoderBase<ILoggingEvent> {
    private static final Set<String> FIXED = Set.of("ts", "level", "logger", "thread", "msg", "exception");
    private static final byte[] NONE = new byte[0];

    private final JsonFactory json = new JsonFactory();

    @Override
    public byte[] headerBytes() {
        return NONE;
    }

    @Override
    public byte[] footerBytes() {
        return NONE;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = json.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("ts", event.getInstant().toString());
            g.writeStringField("level", event.getLevel().toString());
            g.writeStringField("logger", event.getLoggerName());
            g.writeStringField("thread", event.getThreadName());
            g.writeStringField("msg", event.getFormattedMessage());
            List<KeyValuePair> pairs = event.getKeyValuePairs();
            if (pairs != null) {
                for (KeyValuePair p : pairs) {
                    g.writeFieldName(FIXED.contains(p.key) ? "kv_" + p.key : p.key);
                    value(g, p.value);
                }
            }
            IThrowableProxy thrown = event.getThrowableProxy();
            if (thrown != null) {
                g.writeStringField("exception", ThrowableProxyUtil.asString(thrown));
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail to take bytes
        }
        out.write('\n');
        return out.toByteArray();
    }

    private static void value(JsonGenerator g, Object v) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            g.writeNumber(((Number) v).longValue());
        } else if (v instanceof Number n && Double.isFinite(n.doubleValue())) {
            g.writeNumber(n.doubleValue());
        } else {
            g.writeString(String.valueOf(v)); // text, and NaN or infinity, which JSON has no number for
        }
    }
}
