package io.havn.daemon.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.node.Decision;
import io.havn.daemon.config.HavnConfig;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LoggingDecisionLogTest {
    private static final Decision PLACE = new Decision(0, new HostId("node1"), Decision.Kind.PLACE, new VmId("web1"),
            new HostId("node2"), 7, "from node3 \"running\"\nsecond line");

    /** A Logback context of the test's own, set up as havnd does with {@code cfg}, writing into {@code out}. */
    private static LoggerContext context(HavnConfig.Logging cfg, ByteArrayOutputStream out) {
        LoggerContext ctx = new LoggerContext();
        ctx.setMDCAdapter(new LogbackMDCAdapter()); // as Logback's own initialisation does
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setOutputStream(out);
        LogSetup.apply(ctx, cfg, appender);
        return ctx;
    }

    @Test
    void aDecisionIsOneLineWithKindHostVmEpochAndReason() {
        assertEquals("kind=place host=node1 vm=web1 subject=node2 epoch=7 reason=\"from node3 \\\"running\\\"\nsecond line\"",
                LoggingDecisionLog.format(PLACE));
        assertEquals("kind=leader-elected host=node1 epoch=2",
                LoggingDecisionLog.format(new Decision(0, new HostId("node1"), Decision.Kind.LEADER_ELECTED, null, null,
                        2, null)));
    }

    @Test
    void inJsonADecisionIsOneParseableLineWithItsFields() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LoggerContext ctx = context(new HavnConfig.Logging(HavnConfig.Logging.Format.JSON, "info"), out);
        new LoggingDecisionLog(ctx.getLogger("havn.decision")).record(PLACE);
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\n"), text);
        assertEquals(1, text.split("\n", -1).length - 1, "exactly one line, though the reason has a line break: " + text);
        JsonNode j = new ObjectMapper().readTree(text);
        assertEquals("place", j.get("kind").asText());
        assertEquals("node1", j.get("host").asText());
        assertEquals("web1", j.get("vm").asText());
        assertEquals("node2", j.get("subject").asText());
        assertTrue(j.get("epoch").isIntegralNumber(), "a number stays a number: " + j);
        assertEquals(7, j.get("epoch").asLong());
        assertEquals("from node3 \"running\"\nsecond line", j.get("reason").asText());
        assertEquals("INFO", j.get("level").asText());
        assertEquals("havn.decision", j.get("logger").asText());
        assertEquals(LoggingDecisionLog.format(PLACE), j.get("msg").asText(), "the console text too");
        assertTrue(j.hasNonNull("ts"), j.toString());
    }

    @Test
    void inJsonAFailoverCarriesItsTimingsAsNumbersAndFailuresAreWarnings() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LoggerContext ctx = context(new HavnConfig.Logging(HavnConfig.Logging.Format.JSON, "info"), out);
        LoggingDecisionLog log = new LoggingDecisionLog(ctx.getLogger("havn.decision"));
        log.record(new Decision(0, new HostId("node1"), Decision.Kind.RECOVERED, new VmId("web1"), new HostId("node3"),
                4, null, new Decision.Timings(900_000_000L, -1, 120_000_000L, Decision.Proof.SESSION_EXPIRED)));
        log.record(new Decision(0, new HostId("node2"), Decision.Kind.START_FAILED, new VmId("web1"), null, 4, "no disk"));
        String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length);
        JsonNode recovered = new ObjectMapper().readTree(lines[0]);
        assertEquals(900, recovered.get("detect_ms").asLong());
        assertEquals(-1, recovered.get("fence_ms").asLong(), "a phase the leader did not see");
        assertEquals(120, recovered.get("restart_ms").asLong());
        assertEquals("session-expired", recovered.get("proof").asText());
        assertFalse(recovered.has("reason"), "no reason given, none written");
        JsonNode failed = new ObjectMapper().readTree(lines[1]);
        assertEquals("WARN", failed.get("level").asText());
        assertEquals("start-failed", failed.get("kind").asText());
    }

    @Test
    void theLevelFiltersAndTheConsoleFormatKeepsItsAppenders() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LoggerContext ctx = context(new HavnConfig.Logging(HavnConfig.Logging.Format.JSON, "warn"), out);
        LoggingDecisionLog log = new LoggingDecisionLog(ctx.getLogger("havn.decision"));
        log.record(PLACE);
        assertEquals("", out.toString(StandardCharsets.UTF_8), "information is below warn");
        log.record(new Decision(0, new HostId("node1"), Decision.Kind.ALARM, null, new HostId("node2"), 7, "heard"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("\"kind\":\"alarm\""), out.toString(StandardCharsets.UTF_8));

        LoggerContext console = new LoggerContext();
        console.setMDCAdapter(new LogbackMDCAdapter());
        ListAppender<ILoggingEvent> fromXml = new ListAppender<>();
        fromXml.setContext(console);
        fromXml.start();
        console.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(fromXml);
        LogSetup.apply(console, new HavnConfig.Logging(HavnConfig.Logging.Format.CONSOLE, "debug"),
                new OutputStreamAppender<>());
        console.getLogger("havn.decision").debug("a line");
        assertEquals(1, fromXml.list.size(), "console keeps logback.xml's appender, and debug is on");
    }

    @Test
    void aKeyNamedLikeAFixedFieldDoesNotOverwriteIt() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LoggerContext ctx = context(new HavnConfig.Logging(HavnConfig.Logging.Format.JSON, "info"), out);
        ctx.getLogger("x").atInfo().addKeyValue("level", "mine").addKeyValue("ratio", Double.NaN)
                .addKeyValue("ok", true).log("m");
        JsonNode j = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertEquals("INFO", j.get("level").asText());
        assertEquals("mine", j.get("kv_level").asText());
        assertEquals("NaN", j.get("ratio").asText(), "JSON has no NaN number");
        assertTrue(j.get("ok").isBoolean());
    }
}
