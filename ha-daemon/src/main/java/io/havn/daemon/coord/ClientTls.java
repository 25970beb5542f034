package io.havn.daemon.coord;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.common.ClientX509Util;

/**
 * How a coordinator reaches ZooKeeper: over TLS (Netty), presenting the certificate of a key store
 * and trusting the certificate authorities of a trust store. The ensemble's X509AuthenticationProvider
 * gives the client the identity {@code x509:<subject>}, the certificate's subject DN; every znode
 * havn creates grants that identity, and no other, all rights. So every host of a cluster presents
 * a certificate with the same subject.
 *
 * <p>{@link #open} checks the stores at once, so a daemon with an unusable one stops before it
 * starts anything; ZooKeeper's client reads them again (the passwords from their files) at each
 * connection. Passwords are never held in a field nor written anywhere.
 */
public final class ClientTls {
    private final Path keyStore;
    private final Path keyStorePasswordFile;
    private final String keyStoreType;
    private final Path trustStore;
    private final Path trustStorePasswordFile;
    private final String trustStoreType;
    private final String subject;

    private ClientTls(Path keyStore, Path keyStorePasswordFile, String keyStoreType, Path trustStore,
                      Path trustStorePasswordFile, String trustStoreType, String subject) {
        this.keyStore = keyStore;
        this.keyStorePasswordFile = keyStorePasswordFile;
        this.keyStoreType = keyStoreType;
        this.trustStore = trustStore;
        this.trustStorePasswordFile = trustStorePasswordFile;
        this.trustStoreType = trustStoreType;
        this.subject = subject;
    }

    /**
     * Opens both stores (PKCS12 or JKS) with their passwords and checks them: the key store holds
     * exactly one private key with a certificate valid now, the trust store at least one trusted
     * certificate. Throws IllegalArgumentException naming the field at fault ({@code keyStore: ...}).
     */
    public static ClientTls open(Path keyStore, Path keyStorePasswordFile, Path trustStore,
                                 Path trustStorePasswordFile) {
        KeyStore keys = load("keyStore", keyStore, "keyStorePasswordFile", keyStorePasswordFile);
        KeyStore trusted = load("trustStore", trustStore, "trustStorePasswordFile", trustStorePasswordFile);
        X509Certificate own = ownCertificate(keys, keyStore);
        if (!holdsTrustedCertificate(trusted, trustStore)) {
            throw new IllegalArgumentException("trustStore: " + trustStore
                    + " holds no trusted certificate; import the cluster's CA certificate");
        }
        return new ClientTls(keyStore, keyStorePasswordFile, keys.getType(), trustStore, trustStorePasswordFile,
                trusted.getType(), own.getSubjectX500Principal().getName());
    }

    /** The subject DN (RFC 2253) of this host's certificate: the x509 identity the ensemble gives it. */
    public String subject() {
        return subject;
    }

    /** A fresh client config: TLS over Netty, these stores, the server's name checked against its certificate. */
    ZKClientConfig clientConfig() {
        ZKClientConfig c = new ZKClientConfig();
        c.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        c.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        // No SASL: the certificate is the identity. ZooKeeper's SASL client also looks the server's
        // address up in reverse DNS, and the name it finds would replace the connect string's
        // address as the name the server's certificate must carry: Netty 4.2 checks that name.
        c.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        try (ClientX509Util x = new ClientX509Util()) {
            c.setProperty(x.getSslKeystoreLocationProperty(), keyStore.toString());
            c.setProperty(x.getSslKeystorePasswdPathProperty(), keyStorePasswordFile.toString());
            c.setProperty(x.getSslKeystoreTypeProperty(), keyStoreType);
            c.setProperty(x.getSslTruststoreLocationProperty(), trustStore.toString());
            c.setProperty(x.getSslTruststorePasswdPathProperty(), trustStorePasswordFile.toString());
            c.setProperty(x.getSslTruststoreTypeProperty(), trustStoreType);
            c.setProperty(x.getSslHostnameVerificationEnabledProperty(), "true");
        }
        return c;
    }

    @Override
    public String toString() {
        return "TLS as x509:" + subject + " (" + keyStore + ", trusting " + trustStore + ")";
    }

    /**
     * A password file as ZooKeeper's client reads it: its bytes as UTF-8, one trailing line
     * separator removed.
     */
    private static char[] password(String field, Path file) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8);
            if (s.endsWith(System.lineSeparator())) {
                s = s.substring(0, s.length() - System.lineSeparator().length());
            }
            return s.toCharArray();
        } catch (IOException e) {
            throw new IllegalArgumentException(field + ": cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static KeyStore load(String field, Path file, String passwordField, Path passwordFile) {
        char[] pw = password(passwordField, passwordFile);
        try {
            if (!Files.isReadable(file)) {
                throw new IllegalArgumentException(field + ": cannot read " + file);
            }
            return KeyStore.getInstance(file.toFile(), pw);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(field + ": cannot open " + file + " (PKCS12 or JKS) with the password in "
                    + passwordFile + ": " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(pw, '\0');
        }
    }

    private static X509Certificate ownCertificate(KeyStore keys, Path file) {
        try {
            List<String> withKey = new ArrayList<>();
            for (String a : Collections.list(keys.aliases())) {
                if (keys.isKeyEntry(a)) {
                    withKey.add(a);
                }
            }
            if (withKey.size() != 1) {
                throw new IllegalArgumentException("keyStore: " + file + " holds " + withKey.size()
                        + " private keys " + withKey + "; it must hold exactly one, this host's");
            }
            Certificate c = keys.getCertificate(withKey.get(0));
            if (!(c instanceof X509Certificate x)) {
                throw new IllegalArgumentException("keyStore: " + file + ": the key '" + withKey.get(0)
                        + "' has no X.509 certificate");
            }
            x.checkValidity();
            return x;
        } catch (CertificateExpiredException | CertificateNotYetValidException e) {
            throw new IllegalArgumentException("keyStore: " + file + ": the certificate is not valid now: "
                    + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("keyStore: " + file + ": " + e.getMessage(), e);
        }
    }

    private static boolean holdsTrustedCertificate(KeyStore store, Path file) {
        try {
            for (String a : Collections.list(store.aliases())) {
                if (store.isCertificateEntry(a)) {
                    return true;
                }
            }
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("trustStore: " + file + ": " + e.getMessage(), e);
        }
    }
}
