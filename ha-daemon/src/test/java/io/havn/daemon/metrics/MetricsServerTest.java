package io.havn.daemon.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MetricsServerTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private HttpResponse<String> request(MetricsServer s, String method, String path) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + s.address().getPort() + path);
        return http.send(HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void getMetricsAnswersTheRegistrysTextAndOtherPathsAre404() throws Exception {
        try (HavnMetrics m = new HavnMetrics("prod", new HostId("node1"));
             MetricsServer s = new MetricsServer(new InetSocketAddress("127.0.0.1", 0), m::scrape)) {
            s.start();
            HttpResponse<String> ok = request(s, "GET", "/metrics");
            assertEquals(200, ok.statusCode());
            assertEquals(MetricsServer.CONTENT_TYPE, ok.headers().firstValue("Content-Type").orElse(""));
            Exposition e = Exposition.parse(ok.body());
            assertEquals(0.0, e.value("havn_leader").orElseThrow());
            assertTrue(e.has("jvm_memory_used_bytes"), "JVM metrics are bound");
            assertTrue(e.has("process_uptime_seconds"), "process metrics are bound");

            assertEquals(404, request(s, "GET", "/").statusCode());
            assertEquals(404, request(s, "GET", "/metrics/extra").statusCode());
            HttpResponse<String> post = request(s, "POST", "/metrics");
            assertEquals(405, post.statusCode());
            assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
            HttpResponse<String> head = request(s, "HEAD", "/metrics");
            assertEquals(200, head.statusCode());
            assertEquals("", head.body());
        }
    }

    @Test
    void aClosedServerNoLongerListens() throws Exception {
        MetricsServer s = new MetricsServer(new InetSocketAddress("127.0.0.1", 0), () -> "");
        s.start();
        assertEquals(200, request(s, "GET", "/metrics").statusCode());
        s.close();
        assertThrows(ConnectException.class, () -> request(s, "GET", "/metrics"));
        assertThrows(IllegalStateException.class, s::start, "once only");
    }

    @Test
    void aPortInUseIsAnErrorNamingTheCause() throws Exception {
        try (MetricsServer first = new MetricsServer(new InetSocketAddress("127.0.0.1", 0), () -> "")) {
            first.start();
            MetricsServer second = new MetricsServer(first.address(), () -> "");
            IOException e = assertThrows(IOException.class, second::start);
            assertTrue(e.getMessage().toLowerCase().contains("address already in use"), e.getMessage());
        }
    }
}
