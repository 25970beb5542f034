package io.havn.daemon.log;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import io.havn.daemon.config.HavnConfig;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * Applies the config's {@code logging} section at startup, over what {@code logback.xml} set up:
 * the root level, and in {@code json} format a stdout appender with {@link JsonLineEncoder} in
 * place of the console pattern. The console format keeps {@code logback.xml}'s lines as they are
 * (no timestamps: journald adds its own).
 *
 * <p>In the daemon, every appender then sits behind one {@link AsyncAppender} that never blocks:
 * the node's thread logs its decisions, and a journald or pipe that stops reading must not stall
 * it (and with it the heartbeats). When its queue is full, lines are dropped instead. {@link #stop}
 * writes out what is queued.
 */
public final class LogSetup {
    private LogSetup() {
    }

    /** Applies {@code cfg} to the process's Logback; does nothing under another SLF4J binding. */
    public static void apply(HavnConfig.Logging cfg) {
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (factory instanceof LoggerContext ctx) {
            apply(ctx, cfg, new ConsoleAppender<>());
            decouple(ctx);
        }
    }

    /** How many lines may wait for the output before lines are dropped. */
    static final int QUEUE_LINES = 8192;
    /** How long {@link #stop} waits for the queued lines to be written. */
    static final int FLUSH_MS = 2_000;

    /** Puts the root logger's appenders behind one never-blocking {@link AsyncAppender}. */
    static void decouple(LoggerContext ctx) {
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        AsyncAppender async = new AsyncAppender();
        async.setContext(ctx);
        async.setName("ASYNC");
        async.setQueueSize(QUEUE_LINES);
        async.setDiscardingThreshold(0); // keep every level until the queue is full
        async.setNeverBlock(true);
        async.setMaxFlushTime(FLUSH_MS);
        java.util.List<Appender<ILoggingEvent>> outputs = new java.util.ArrayList<>();
        root.iteratorForAppenders().forEachRemaining(outputs::add);
        for (Appender<ILoggingEvent> a : outputs) {
            root.detachAppender(a); // moved, still started
            async.addAppender(a);
        }
        async.start();
        root.addAppender(async);
    }

    /** Writes out the queued lines and stops logging (at the very end of the process). */
    public static void stop() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
            ctx.stop();
        }
    }

    /** Applies {@code cfg} to {@code ctx}; in json format, {@code jsonOut} (not yet started) becomes the only appender. */
    static void apply(LoggerContext ctx, HavnConfig.Logging cfg, OutputStreamAppender<ILoggingEvent> jsonOut) {
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(cfg.level(), Level.INFO));
        if (cfg.format() == HavnConfig.Logging.Format.JSON) {
            JsonLineEncoder encoder = new JsonLineEncoder();
            encoder.setContext(ctx);
            encoder.start();
            jsonOut.setContext(ctx);
            jsonOut.setName("STDOUT");
            jsonOut.setEncoder(encoder);
            jsonOut.start();
            root.detachAndStopAllAppenders();
            root.addAppender(jsonOut);
        }
    }
}
