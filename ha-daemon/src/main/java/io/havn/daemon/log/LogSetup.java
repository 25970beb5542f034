package io.havn.daemon.log;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
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
 */
public final class LogSetup {
    private LogSetup() {
    }

    /** Applies {@code cfg} to the process's Logback; does nothing under another SLF4J binding. */
    public static void apply(HavnConfig.Logging cfg) {
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (factory instanceof LoggerContext ctx) {
            apply(ctx, cfg, new ConsoleAppender<>());
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
