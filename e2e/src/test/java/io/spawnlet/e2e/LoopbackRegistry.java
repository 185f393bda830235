package io.spawnlet.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real registry (Debian's docker-registry) on 127.0.0.1 and a free port, serving a private copy
 * of the storage that scripts/test-registry.sh populated, so a test may corrupt blobs and count the
 * requests in the registry's access log. With a password it requires htpasswd (bcrypt) basic auth
 * for user {@link #USER}.
 */
public final class LoopbackRegistry implements AutoCloseable {
  public static final String USER = "spawnlet";
  private static final Path BINARY = Path.of("/usr/bin/docker-registry");

  private final Path dir;
  private final int port;
  private final Process process;

  private LoopbackRegistry(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
  }

  /** Starts a registry over a copy of {@code storage} in {@code dir}; password may be null. */
  public static LoopbackRegistry start(Path storage, Path dir, String password) {
    return start(storage, dir, password, null);
  }

  /** Same, served over HTTPS only with {@code certificates}' server certificate. */
  public static LoopbackRegistry startTls(
      Path storage, Path dir, LoopbackCertificates certificates) {
    return start(storage, dir, null, certificates);
  }

  private static LoopbackRegistry start(
      Path storage, Path dir, String password, LoopbackCertificates tls) {
    try {
      Files.createDirectories(dir);
      run("cp", "-a", storage.toString(), dir.resolve("storage").toString());
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = s.getLocalPort();
      }
      StringBuilder config =
          new StringBuilder()
              .append("version: 0.1\n")
              .append("log: {level: info, formatter: text, accesslog: {disabled: false}}\n")
              .append("storage: {filesystem: {rootdirectory: ")
              .append(dir.resolve("storage"))
              .append("}, delete: {enabled: true}}\n")
              .append("http: {addr: 127.0.0.1:")
              .append(port)
              .append(", secret: spawnlet-test");
      if (tls != null) {
        config
            .append(", tls: {certificate: ")
            .append(tls.serverCertificate())
            .append(", key: ")
            .append(tls.serverKey())
            .append("}");
      }
      config.append("}\n");
      if (password != null) {
        // docker-registry accepts only bcrypt lines: htpasswd -B (apache2-utils)
        String line = run("htpasswd", "-Bbn", USER, password).strip();
        Files.writeString(dir.resolve("htpasswd"), line + "\n");
        config
            .append("auth: {htpasswd: {realm: spawnlet-test, path: ")
            .append(dir.resolve("htpasswd"))
            .append("}}\n");
      }
      Files.writeString(dir.resolve("config.yml"), config);
      Process process =
          new ProcessBuilder(BINARY.toString(), "serve", dir.resolve("config.yml").toString())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("registry.log").toFile())
              .start();
      LoopbackRegistry registry = new LoopbackRegistry(dir, port, process);
      registry.awaitListening();
      return registry;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start docker-registry in " + dir, e);
    }
  }

  /** {@code 127.0.0.1:PORT}, the registry part of image references. */
  public String host() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /**
   * Copies an image into this registry with skopeo (plain HTTP): {@code source} is a skopeo
   * reference such as {@code oci:/path/layout:latest} or {@code oci-archive:/path/image.tar};
   * returns the pullable reference {@code 127.0.0.1:PORT/repositoryAndTag}.
   */
  public String push(String source, String repositoryAndTag) {
    String target = host() + "/" + repositoryAndTag;
    try {
      run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", source, "docker://" + target);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot push " + source + " to " + target, e);
    }
    return target;
  }

  /** GET requests so far whose path contains {@code pathPart} (from the access log). */
  public long countGets(String pathPart) {
    try {
      return Files.readAllLines(dir.resolve("registry.log"), StandardCharsets.UTF_8).stream()
          .filter(l -> l.contains("\"GET ") && l.contains(pathPart))
          .count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Overwrites the middle of a stored blob with other bytes of the same length. */
  public void corruptBlob(String digest) {
    String hex = digest.substring("sha256:".length());
    Path data =
        dir.resolve("storage/docker/registry/v2/blobs/sha256")
            .resolve(hex.substring(0, 2))
            .resolve(hex)
            .resolve("data");
    try {
      byte[] content = Files.readAllBytes(data);
      for (int i = content.length / 2; i < content.length / 2 + 64 && i < content.length; i++) {
        content[i] ^= (byte) 0x5a;
      }
      Files.write(data, content);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot corrupt " + data, e);
    }
  }

  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(dir.resolve("registry.log"));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return e.toString();
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void awaitListening() {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new AssertionError("docker-registry exited:\n" + logTail());
      }
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException notYet) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
    close();
    throw new AssertionError("docker-registry did not listen on " + host() + ":\n" + logTail());
  }

  /** Runs {@code command}, returning its output; a non-zero exit is an IOException. */
  static String run(String... command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (p.waitFor() != 0) {
        throw new IOException(String.join(" ", command) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return out;
  }
}
