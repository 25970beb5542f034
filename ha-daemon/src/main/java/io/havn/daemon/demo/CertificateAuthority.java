package io.havn.daemon.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A small certificate authority in a directory, made with the JDK's {@code keytool}: its key
 * ({@code ca.p12}), a trust store holding its certificate ({@code truststore.p12}), and the
 * certificates it issued, each in a PKCS12 key store with its chain ({@code <name>.p12}). One
 * random password, in {@code store.password} (mode 0600), opens every store; it is handed to
 * keytool as a file, never on a command line. For the demo and the tests: a real cluster's CA is
 * its operators' (README, "Installing on real hosts").
 */
public final class CertificateAuthority {
    private static final long KEYTOOL_TIMEOUT_S = 60;
    private static final int VALIDITY_DAYS = 30;

    private final Path dir;

    private CertificateAuthority(Path dir) {
        this.dir = dir;
    }

    /**
     * A certificate to issue: {@code subject} is a DN such as {@code CN=havn-demo}, {@code sans}
     * its subject alternative names (e.g. {@code ip:127.0.0.1}, {@code dns:zk1}; none for a client).
     * Its key store is {@code <name>.p12}.
     */
    public record Leaf(String name, String subject, List<String> sans) {
        public Leaf {
            sans = List.copyOf(sans);
        }
    }

    /**
     * Makes the CA's key and certificate and the trust store in {@code dir} (created if need be),
     * and issues {@code leaves}, usable by servers and clients alike. The keytool runs that do not
     * depend on each other run at once: a keytool is a JVM start, most of the time this takes.
     */
    public static CertificateAuthority create(Path dir, String name, List<Leaf> leaves)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        CertificateAuthority ca = new CertificateAuthority(dir.toAbsolutePath());
        byte[] pw = new byte[16];
        new SecureRandom().nextBytes(pw);
        Files.writeString(ca.passwordFile(), HexFormat.of().formatHex(pw));
        Files.setPosixFilePermissions(ca.passwordFile(), PosixFilePermissions.fromString("rw-------"));
        ExecutorService pool = Executors.newFixedThreadPool(leaves.size() + 1);
        try {
            List<Future<?>> requests = new ArrayList<>();
            for (Leaf l : leaves) {
                requests.add(pool.submit(() -> ca.request(l)));
            }
            ca.keytool("-genkeypair", "-alias", "ca", "-dname", "CN=" + name, "-ext", "bc:c", "-keyalg", "EC",
                    "-groupname", "secp256r1", "-validity", String.valueOf(VALIDITY_DAYS),
                    "-keystore", ca.keyStore("ca"), "-storetype", "PKCS12");
            ca.keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca.keyStore("ca"), "-file", ca.pem("ca"));
            List<Future<?>> issued = new ArrayList<>();
            issued.add(pool.submit(() -> {
                ca.keytool("-importcert", "-noprompt", "-alias", "ca", "-file", ca.pem("ca"), "-keystore",
                        ca.trustStore(), "-storetype", "PKCS12");
                return null;
            }));
            for (int i = 0; i < leaves.size(); i++) {
                Future<?> request = requests.get(i);
                Leaf l = leaves.get(i);
                issued.add(pool.submit(() -> {
                    join(request);
                    return ca.sign(l);
                }));
            }
            for (Future<?> f : issued) {
                join(f);
            }
        } finally {
            pool.shutdownNow();
        }
        return ca;
    }

    /** Waits for {@code f}, whose failure becomes this thread's. */
    private static void join(Future<?> f) throws IOException, InterruptedException {
        try {
            f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof InterruptedException ie) {
                throw ie;
            }
            throw new IOException("making certificates failed: " + e.getCause(), e.getCause());
        }
    }

    /** The CA made earlier in {@code dir}, for the names of its files. */
    public static CertificateAuthority at(Path dir) {
        return new CertificateAuthority(dir.toAbsolutePath());
    }

    /** The key store of the certificate issued to {@code name}. */
    public Path keyStore(String name) {
        return dir.resolve(name + ".p12");
    }

    /** The trust store: the CA's certificate. */
    public Path trustStore() {
        return dir.resolve("truststore.p12");
    }

    /** The file holding the password of every store here. */
    public Path passwordFile() {
        return dir.resolve("store.password");
    }

    /** The key pair of {@code l} and its certificate request. */
    private Void request(Leaf l) throws IOException, InterruptedException {
        keytool("-genkeypair", "-alias", l.name(), "-dname", l.subject(), "-keyalg", "EC", "-groupname", "secp256r1",
                "-validity", String.valueOf(VALIDITY_DAYS), "-keystore", keyStore(l.name()), "-storetype", "PKCS12");
        keytool("-certreq", "-alias", l.name(), "-keystore", keyStore(l.name()), "-file", csr(l.name()));
        return null;
    }

    /** Signs {@code l}'s request and installs the certificate, with the CA's, in its key store. */
    private Void sign(Leaf l) throws IOException, InterruptedException {
        List<String> gencert = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", "ca", "-keystore",
                keyStore("ca").toString(), "-infile", csr(l.name()), "-outfile", pem(l.name()),
                "-validity", String.valueOf(VALIDITY_DAYS), "-ext", "eku=serverAuth,clientAuth"));
        if (!l.sans().isEmpty()) {
            gencert.addAll(List.of("-ext", "san=" + String.join(",", l.sans())));
        }
        keytool(gencert.toArray());
        Path chain = dir.resolve(l.name() + "-chain.pem");
        Files.writeString(chain, Files.readString(Path.of(pem(l.name()))) + Files.readString(Path.of(pem("ca"))));
        keytool("-importcert", "-noprompt", "-alias", l.name(), "-file", chain, "-keystore", keyStore(l.name()));
        return null;
    }

    private String csr(String name) {
        return dir.resolve(name + ".csr").toString();
    }

    private String pem(String name) {
        return dir.resolve(name + ".pem").toString();
    }

    private void keytool(Object... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"));
        for (Object a : args) {
            cmd.add(a.toString());
        }
        cmd.addAll(List.of("-storepass:file", passwordFile().toString()));
        Path out = Files.createTempFile(dir, "keytool", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(KEYTOOL_TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("keytool " + args[0] + " took longer than " + KEYTOOL_TIMEOUT_S + " s");
            }
            if (p.exitValue() != 0) {
                throw new IOException("keytool " + args[0] + " failed (exit " + p.exitValue() + "): "
                        + Files.readString(out).strip());
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
