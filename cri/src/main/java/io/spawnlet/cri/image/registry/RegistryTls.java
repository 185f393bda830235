package io.spawnlet.cri.image.registry;

import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * TLS trust for registry connections: the system's roots plus, for a host configured with {@code
 * caFile}, the CA certificates of that PEM file; and the reading of TLS failures, so a pull error
 * can say whether the certificate was not trusted or the server does not speak TLS at all.
 */
final class RegistryTls {
  private RegistryTls() {}

  /**
   * An SSLContext trusting the JDK's default roots and every certificate in {@code caFile} (PEM).
   * {@code field} names the config key in errors.
   */
  static SSLContext trusting(Path caFile, String field) {
    Collection<? extends Certificate> cas;
    try (InputStream in = Files.newInputStream(caFile)) {
      cas = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (IOException e) {
      throw CriException.invalid(field, "cannot read the CA file " + caFile + ": " + e);
    } catch (CertificateException e) {
      throw CriException.invalid(
          field, caFile + " is not a PEM certificate file (" + e.getMessage() + ")");
    }
    if (cas.isEmpty()) {
      throw CriException.invalid(field, caFile + " holds no certificate (expected PEM)");
    }
    try {
      KeyStore roots = KeyStore.getInstance(KeyStore.getDefaultType());
      roots.load(null, null);
      int n = 0;
      for (X509Certificate system : defaultTrustManager().getAcceptedIssuers()) {
        roots.setCertificateEntry("system-" + n++, system);
      }
      for (Certificate ca : cas) {
        roots.setCertificateEntry("ca-file-" + n++, ca);
      }
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(roots);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factory.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build a trust store with " + caFile, e);
    }
  }

  private static X509TrustManager defaultTrustManager() throws GeneralSecurityException {
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init((KeyStore) null);
    for (var manager : factory.getTrustManagers()) {
      if (manager instanceof X509TrustManager x509) {
        return x509;
      }
    }
    throw new IllegalStateException("the JDK has no default X509TrustManager");
  }

  /**
   * Why the server's certificate was refused, if that is what {@code e} is: an unknown issuer, an
   * expired certificate or a name that does not match.
   */
  static Optional<String> untrustedCertificate(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof CertificateException
          || t instanceof CertPathBuilderException
          || t instanceof CertPathValidatorException) {
        return Optional.of(String.valueOf(t.getMessage()));
      }
    }
    return Optional.empty();
  }

  /**
   * Whether {@code e} says the server answered a TLS handshake with something that is not TLS: a
   * plain-HTTP registry.
   */
  static boolean notTls(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SSLException
          && !(t instanceof SSLHandshakeException)
          && untrustedCertificate(e).isEmpty()) {
        return true;
      }
      if (t instanceof SSLHandshakeException
          && String.valueOf(t.getMessage()).contains("Remote host terminated the handshake")) {
        return true;
      }
    }
    return false;
  }
}
