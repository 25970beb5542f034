package io.havn.daemon.coord;

import io.havn.daemon.demo.CertificateAuthority;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingCluster;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.common.ClientX509Util;
import org.apache.zookeeper.server.auth.ProviderRegistry;

/**
 * A real ZooKeeper ensemble in this JVM set up as havn's README asks: each server has a plain
 * client port and a TLS one (secureClientPort, Netty, ssl.clientAuth=need), and the x509
 * authentication provider gives a client the subject of its certificate as its identity. The
 * certificates come from one CA made once per JVM: the servers' (SAN 127.0.0.1 only: the address
 * clients connect to, not the name reverse DNS gives it), the members' ({@link #MEMBER}) and a
 * stranger's ({@link #STRANGER}), both issued by the same CA.
 *
 * <p>ZooKeeper's servers read their TLS settings from system properties, and its authentication
 * providers are registered once per JVM; both are set on start and cleared on close, so only
 * one such ensemble runs at a time.
 */
public final class TlsEnsemble implements AutoCloseable {
    /** The subject every member's certificate carries. */
    public static final String MEMBER = "CN=havn,OU=test";
    /** A certificate from the same CA with another subject. */
    public static final String STRANGER = "CN=intruder,OU=test";
    private static final String SERVER_PREFIX = "zookeeper.";
    private static Pki pki;

    /** The CA's files: its trust store, the password of every store, and the issued key stores. */
    public record Pki(Path trustStore, Path password, Path server, Path member, Path stranger) { }

    private final TestingCluster cluster;
    private final List<Integer> securePorts;
    private final List<String> serverProperties;

    private TlsEnsemble(TestingCluster cluster, List<Integer> securePorts, List<String> serverProperties) {
        this.cluster = cluster;
        this.securePorts = securePorts;
        this.serverProperties = serverProperties;
    }

    /** The CA and its certificates, made at the first call (keytool; a few seconds). */
    public static synchronized Pki pki() {
        if (pki == null) {
            try {
                Path dir = Files.createTempDirectory("havn-test-pki");
                CertificateAuthority ca = CertificateAuthority.create(dir, "havn test CA", List.of(
                        new CertificateAuthority.Leaf("zookeeper", "CN=zookeeper,OU=test", List.of("ip:127.0.0.1")),
                        new CertificateAuthority.Leaf("member", MEMBER, List.of()),
                        new CertificateAuthority.Leaf("stranger", STRANGER, List.of())));
                pki = new Pki(ca.trustStore(), ca.passwordFile(), ca.keyStore("zookeeper"), ca.keyStore("member"),
                        ca.keyStore("stranger"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while making certificates", e);
            }
        }
        return pki;
    }

    /** Starts {@code servers} servers (three or more: a quorum) with a tick of {@code tickMs}; returns once started. */
    public static TlsEnsemble start(int servers, int tickMs) throws Exception {
        Pki p = pki();
        Map<String, String> props = Map.of(
                "serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory",
                "authProvider.x509", "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
                "ssl.clientAuth", "need",
                "ssl.keyStore.location", p.server().toString(),
                "ssl.keyStore.passwordPath", p.password().toString(),
                "ssl.keyStore.type", "PKCS12",
                "ssl.trustStore.location", p.trustStore().toString(),
                "ssl.trustStore.passwordPath", p.password().toString(),
                "ssl.trustStore.type", "PKCS12");
        List<String> set = new ArrayList<>();
        props.forEach((k, v) -> {
            System.setProperty(SERVER_PREFIX + k, v);
            set.add(SERVER_PREFIX + k);
        });
        ProviderRegistry.reset(); // registered again, x509 included, at the first authentication
        InstanceSpec.reset();
        int[] ports = FreePorts.take(4 * servers);
        List<InstanceSpec> specs = new ArrayList<>();
        List<Integer> secure = new ArrayList<>();
        for (int i = 0; i < servers; i++) {
            secure.add(ports[4 * i + 3]);
            specs.add(new InstanceSpec(null, ports[4 * i], ports[4 * i + 1], ports[4 * i + 2], true, -1, tickMs, -1,
                    Map.of("secureClientPort", String.valueOf(ports[4 * i + 3]))));
        }
        TestingCluster cluster = new TestingCluster(specs);
        TlsEnsemble e = new TlsEnsemble(cluster, secure, set);
        try {
            cluster.start();
        } catch (Exception failed) {
            e.close();
            throw failed;
        }
        return e;
    }

    public TestingCluster cluster() {
        return cluster;
    }

    /** The TLS ports. */
    public String connectString() {
        return securePorts.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
    }

    /** The plain ports: no certificate asked for, so no identity but the address. */
    public String plainConnectString() {
        return cluster.getConnectString();
    }

    /** A member's TLS identity. */
    public static ClientTls member() {
        Pki p = pki();
        return ClientTls.open(p.member(), p.password(), p.trustStore(), p.password());
    }

    /** A stranger's: a certificate of the cluster's CA with another subject. */
    public static ClientTls stranger() {
        Pki p = pki();
        return ClientTls.open(p.stranger(), p.password(), p.trustStore(), p.password());
    }

    /**
     * A started client of the chroot {@code namespace}: over TLS as {@code tls}, or on the plain
     * ports without a certificate when it is null. Operations wait at most 5 s for a connection.
     */
    public CuratorFramework client(ClientTls tls, String namespace) {
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(tls == null ? plainConnectString() : connectString())
                .namespace(namespace)
                .connectionTimeoutMs(5_000)
                .retryPolicy(new RetryNTimes(0, 0));
        if (tls != null) {
            b.zkClientConfig(tls.clientConfig());
        }
        CuratorFramework c = b.build();
        c.start();
        return c;
    }

    /** A client config for TLS that trusts the CA and presents no certificate. */
    public static ZKClientConfig withoutCertificate() {
        Pki p = pki();
        ZKClientConfig c = new ZKClientConfig();
        c.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        c.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        c.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false"); // as a member does: only the certificate differs
        try (ClientX509Util x = new ClientX509Util()) {
            c.setProperty(x.getSslKeystoreLocationProperty(), ""); // not the servers' key store from the properties
            c.setProperty(x.getSslTruststoreLocationProperty(), p.trustStore().toString());
            c.setProperty(x.getSslTruststorePasswdPathProperty(), p.password().toString());
            c.setProperty(x.getSslTruststoreTypeProperty(), "PKCS12");
        }
        return c;
    }

    @Override
    public void close() throws IOException {
        try {
            cluster.close();
        } finally {
            serverProperties.forEach(System::clearProperty);
            ProviderRegistry.reset();
        }
    }
}
