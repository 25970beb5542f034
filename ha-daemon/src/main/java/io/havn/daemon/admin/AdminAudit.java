package io.havn.daemon.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.model.Json;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.Caller;
import io.havn.common.node.Role;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail of the admin socket, on the logger {@code havn.audit} (route it apart from the
 * daemon's log): one JSON object per line for every change request, every denied request and every
 * refused connection, with the peer's uid and name, its role, the command and its arguments, and
 * the result. A domain XML is logged as its SHA-256 and size, not its text (it may hold passwords,
 * e.g. a VNC password). Being JSON, no value a client chooses can break or forge a line.
 */
final class AdminAudit {
    static final String LOGGER = "havn.audit";
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);

    private AdminAudit() {
    }

    /** A request that was parsed into {@code cmd} and answered {@code answer} (a JSON answer line). */
    static void request(Caller caller, AdminCommand cmd, String answer) {
        ObjectNode line = who(caller.uid(), caller.user(), caller.role().label());
        ObjectNode args = args(cmd);
        line.put("command", cmd.name());
        line.set("args", args);
        result(line, answer);
        if (cmd.role() == Role.READ_ONLY && !"denied".equals(line.path("result").asText())) {
            return; // looking (status, what-if) changes nothing
        }
        LOG.info("{}", line);
    }

    /** A request line that named no valid command, answered {@code answer}. */
    static void badRequest(Caller caller, String answer) {
        ObjectNode line = who(caller.uid(), caller.user(), caller.role().label());
        line.putNull("command");
        result(line, answer);
        LOG.info("{}", line);
    }

    /** A connection refused before any request: the peer has no role. */
    static void refused(long uid, String user, String answer) {
        ObjectNode line = who(uid, user, null);
        line.putNull("command");
        result(line, answer);
        LOG.warn("{}", line);
    }

    private static ObjectNode who(long uid, String user, String role) {
        ObjectNode line = Json.mapper().createObjectNode();
        line.put("uid", uid);
        line.put("user", user);
        line.put("role", role);
        return line;
    }

    /** The command's arguments as JSON, a domain XML replaced by its digest and size. */
    static ObjectNode args(AdminCommand cmd) {
        ObjectNode a = Json.mapper().valueToTree(cmd);
        a.remove("command");
        JsonNode spec = a.get("spec");
        if (spec instanceof ObjectNode s && s.hasNonNull("domainXml")) {
            byte[] xml = s.get("domainXml").asText().getBytes(StandardCharsets.UTF_8);
            s.put("domainXml", "sha256:" + sha256(xml) + " (" + xml.length + " bytes)");
        }
        return a;
    }

    private static void result(ObjectNode line, String answer) {
        try {
            JsonNode a = Json.mapper().readTree(answer);
            boolean ok = a.path("ok").asBoolean(false);
            line.put("result", ok ? "ok" : a.path("code").asText("error"));
            if (a.hasNonNull("message")) {
                line.put("message", a.get("message").asText());
            }
        } catch (java.io.IOException e) {
            line.put("result", "unknown");
        }
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
