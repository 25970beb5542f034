package io.havn.daemon.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small certificate authority in a directory, made with the JDK's {@code keytool}: its key
 * ({@code ca.p12}), a trust store holding its certificate ({@code truststore.p12}), and the
 * certificates it issues, each in a PKCS12 key store with its chain ({@code <name>.p12}). One
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

    /** Makes the CA's key and certificate and the trust store in {@code dir} (created if need be). */
    public static CertificateAuthority create(Path dir, String name) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        CertificateAuthority ca = new CertificateAuthority(dir.toAbsolutePath());
        byte[] pw = new byte[16];
        new SecureRandom().nextBytes(pw);
        Files.writeString(ca.passwordFile(), HexFormat.of().formatHex(pw));
        Files.setPosixFilePermissions(ca.passwordFile(), PosixFilePermissions.fromString("rw-------"));
        ca.keytool("-genkeypair", "-alias", "ca", "-dname", "CN=" + name, "-ext", "bc:c", "-keyalg", "EC",
                "-groupname", "secp256r1", "-validity", String.valueOf(VALIDITY_DAYS),
                "-keystore", ca.store("ca"), "-storetype", "PKCS12");
        ca.keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca.store("ca"), "-file", ca.pem("ca"));
        ca.keytool("-importcert", "-noprompt", "-alias", "ca", "-file", ca.pem("ca"), "-keystore", ca.trustStore(),
                "-storetype", "PKCS12");
        return ca;
    }

    /** The trust store: the CA's certificate. */
    public Path trustStore() {
        return dir.resolve("truststore.p12");
    }

    /** The file holding the password of every store here. */
    public Path passwordFile() {
        return dir.resolve("store.password");
    }

    /**
     * Issues a certificate for {@code subject} (a DN such as {@code CN=havn,OU=demo}) with the
     * subject alternative names {@code sans} (e.g. {@code ip:127.0.0.1}, {@code dns:zk1}; none for
     * a client), usable by a server and a client; returns its key store, {@code <name>.p12}.
     */
    public Path issue(String name, String subject, List<String> sans) throws IOException, InterruptedException {
        String ks = store(name);
        Path csr = dir.resolve(name + ".csr");
        keytool("-genkeypair", "-alias", name, "-dname", subject, "-keyalg", "EC", "-groupname", "secp256r1",
                "-validity", String.valueOf(VALIDITY_DAYS), "-keystore", ks, "-storetype", "PKCS12");
        keytool("-certreq", "-alias", name, "-keystore", ks, "-file", csr.toString());
        List<String> gencert = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", "ca", "-keystore", store("ca"),
                "-infile", csr.toString(), "-outfile", pem(name), "-validity", String.valueOf(VALIDITY_DAYS),
                "-ext", "eku=serverAuth,clientAuth"));
        if (!sans.isEmpty()) {
            gencert.addAll(List.of("-ext", "san=" + String.join(",", sans)));
        }
        keytool(gencert.toArray(String[]::new));
        Path chain = dir.resolve(name + "-chain.pem");
        Files.writeString(chain, Files.readString(Path.of(pem(name))) + Files.readString(Path.of(pem("ca"))));
        keytool("-importcert", "-noprompt", "-alias", name, "-file", chain.toString(), "-keystore", ks);
        return Path.of(ks);
    }

    private String store(String name) {
        return dir.resolve(name + ".p12").toString();
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
