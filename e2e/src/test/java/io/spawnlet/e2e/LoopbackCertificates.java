package io.spawnlet.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A throwaway CA and a server certificate it signed for 127.0.0.1 (IP SAN), made with openssl in a
 * test's directory: what a TLS registry on loopback serves and what the daemon is told to trust.
 */
public record LoopbackCertificates(Path caCertificate, Path serverCertificate, Path serverKey) {

  /** Generates them in {@code dir} (created): ca.pem, server.pem, server-key.pem. */
  public static LoopbackCertificates generate(Path dir) {
    try {
      Files.createDirectories(dir);
      Path caKey = dir.resolve("ca-key.pem");
      Path ca = dir.resolve("ca.pem");
      Path key = dir.resolve("server-key.pem");
      Path csr = dir.resolve("server.csr");
      Path cert = dir.resolve("server.pem");
      Path ext = dir.resolve("server.ext");
      openssl(
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "2",
          "-subj",
          "/CN=spawnlet test CA",
          "-keyout",
          caKey.toString(),
          "-out",
          ca.toString());
      openssl(
          "req",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-subj",
          "/CN=127.0.0.1",
          "-keyout",
          key.toString(),
          "-out",
          csr.toString());
      Files.writeString(
          ext,
          "subjectAltName = IP:127.0.0.1\n"
              + "basicConstraints = CA:FALSE\n"
              + "extendedKeyUsage = serverAuth\n");
      openssl(
          "x509",
          "-req",
          "-in",
          csr.toString(),
          "-CA",
          ca.toString(),
          "-CAkey",
          caKey.toString(),
          "-CAcreateserial",
          "-days",
          "2",
          "-extfile",
          ext.toString(),
          "-out",
          cert.toString());
      return new LoopbackCertificates(ca, cert, key);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot generate certificates in " + dir, e);
    }
  }

  private static void openssl(String... args) throws IOException {
    String[] command = new String[args.length + 1];
    command[0] = "openssl";
    System.arraycopy(args, 0, command, 1, args.length);
    LoopbackRegistry.run(command);
  }
}
