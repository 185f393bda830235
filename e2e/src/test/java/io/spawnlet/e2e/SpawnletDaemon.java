package io.spawnlet.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The real spawnlet CRI daemon as a child process ({@code java -jar dist/target/spawnlet.jar cri}),
 * with every piece of state in a temp tree of its own and a network of its own (a bridge {@code
 * spwe<random>} and a random /24 in 10.200-255.x), so suites can run beside each other and beside a
 * real daemon on the same machine.
 *
 * <p>Use it as a static {@code @RegisterExtension} field: the daemon starts before the class's
 * tests and is stopped and cleaned up after them. {@link #kill9()} and {@link #restart()} are for
 * recovery tests; the state survives both.
 *
 * <p>The suites drive the daemon with crictl: without {@code SPAWNLET_CRICTL} the class is skipped
 * (scripts/test.sh always sets it).
 */
public final class SpawnletDaemon implements BeforeAllCallback, AfterAllCallback {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_GRACE = Duration.ofSeconds(30);
  private static final Duration IMPORT_TIMEOUT = Duration.ofMinutes(5);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final E2eEnvironment environment = E2eEnvironment.fromSystem();
  private final String bridge =
      "spwe"
          + HexFormat.of().toHexDigits((byte) RANDOM.nextInt(256))
          + HexFormat.of().toHexDigits((short) RANDOM.nextInt(1 << 16));
  private final String subnet =
      "10." + (200 + RANDOM.nextInt(56)) + "." + RANDOM.nextInt(256) + ".0/24";
  private final int metricsPort = 20000 + RANDOM.nextInt(20000);
  private final boolean staticPods;
  private final List<Setup> setups = new java.util.ArrayList<>();
  private final java.util.Deque<AutoCloseable> undoSetups = new java.util.ArrayDeque<>();
  private Path base;
  private Process process;
  private Crictl crictl;

  private SpawnletDaemon(boolean staticPods) {
    this.staticPods = staticPods;
  }

  public static SpawnletDaemon create() {
    return new SpawnletDaemon(false);
  }

  /**
   * {@code spawnlet run --manifests <base>/manifests} instead of {@code spawnlet cri}: the daemon
   * plus the static pod agent in one process, pod logs under {@link #podLogs()}.
   */
  public static SpawnletDaemon staticPods() {
    return new SpawnletDaemon(true);
  }

  /** Something made under the daemon's temp tree before its first start (a file system at root). */
  public interface Setup {
    /** Makes it; the returned undo runs after the daemon's last stop, before the temp tree goes. */
    AutoCloseable apply(SpawnletDaemon daemon) throws Exception;
  }

  /** Adds a setup step, run in order once the temp dirs exist. */
  public SpawnletDaemon with(Setup setup) {
    setups.add(setup);
    return this;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    if (environment.crictl().isEmpty()) {
      String reason =
          "SPAWNLET_CRICTL is not set: the e2e suites drive spawnlet with crictl;"
              + " run scripts/test.sh, or scripts/setup.sh and export the path it prints";
      // Surefire reports a class aborted in beforeAll as "0 tests": say why where it shows.
      System.err.println(context.getDisplayName() + " SKIPPED: " + reason);
      Assumptions.abort(reason);
    }
    environment.requireSpawnletJar();
    base = Files.createTempDirectory("spawnlet-e2e-");
    // 0711 as /var/lib/spawnlet: a user-namespaced container's root must reach its rootfs
    Files.setPosixFilePermissions(
        base, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    for (Path dir : List.of(root(), runRoot(), cniConfDir(), podLogs(), manifests())) {
      Files.createDirectories(dir);
    }
    crictl = new Crictl(environment.crictl().orElseThrow(), socket(), base.resolve("crictl"));
    for (Setup setup : setups) {
      try {
        undoSetups.push(setup.apply(this));
      } catch (IOException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IOException("e2e setup of " + base + " failed: " + e, e);
      }
    }
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (base == null) {
      return;
    }
    try {
      stop();
      while (!undoSetups.isEmpty()) {
        try {
          undoSetups.pop().close();
        } catch (Exception e) {
          System.err.println("e2e cleanup: undoing a setup of " + base + " failed: " + e);
        }
      }
    } finally {
      cleanUp();
    }
  }

  /** Starts the daemon and waits until it answers on its socket. */
  public synchronized void start() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("spawnlet is already running (pid " + process.pid() + ")");
    }
    List<String> command = criCommand();
    try {
      Files.writeString(
          logFile(),
          "==== " + Instant.now() + " " + String.join(" ", command) + "\n",
          StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
      ProcessBuilder builder = new ProcessBuilder(command);
      builder.environment().put("SPAWNLET_METRICS_ADDRESS", "127.0.0.1:" + metricsPort);
      process =
          builder
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    awaitSocket();
  }

  /** SIGTERM, then SIGKILL if the daemon has not exited after a grace period. Idempotent. */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    process.destroy(); // SIGTERM
    try {
      if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        System.err.println(
            "spawnlet (pid " + process.pid() + ") ignored SIGTERM for " + STOP_GRACE + ": SIGKILL");
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    process = null;
  }

  /** SIGKILL, as a crash would: nothing of the daemon runs its shutdown path. */
  public synchronized void kill9() {
    if (process == null) {
      return;
    }
    try {
      process.destroyForcibly().waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process = null;
  }

  /** Stops (gracefully) and starts again with the same state directories and network. */
  public void restart() {
    stop();
    start();
  }

  /** {@code spawnlet image import SOURCE --name REFERENCE --root <this daemon's root>}. */
  public void importImage(String source, String reference) {
    List<String> command =
        javaCommand("image", "import", source, "--name", reference, "--root", root().toString());
    try {
      Path output = Files.createTempFile(base, "import-", ".log");
      Process importer =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(output.toFile())
              .start();
      if (!importer.waitFor(IMPORT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        importer.destroyForcibly().waitFor();
        throw new AssertionError(
            String.join(" ", command) + " did not finish in " + IMPORT_TIMEOUT);
      }
      if (importer.exitValue() != 0) {
        throw new AssertionError(
            String.join(" ", command)
                + " failed with exit code "
                + importer.exitValue()
                + ":\n"
                + Files.readString(output));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while importing " + source, e);
    }
  }

  /** {@code spawnlet pods --socket <this daemon's socket>}: its output. */
  public String pods() {
    List<String> command = javaCommand("pods", "--socket", socket().toString());
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new AssertionError(String.join(" ", command) + " failed:\n" + out);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted: " + command, e);
    }
  }

  /** Imports a test image built by scripts/test-images.sh (e.g. "busybox"). */
  public void importTestImage(String name, String reference) {
    importImage(environment.testImageReference(name), reference);
  }

  public Crictl crictl() {
    return crictl;
  }

  public Optional<Long> pid() {
    Process current = process;
    return current != null && current.isAlive() ? Optional.of(current.pid()) : Optional.empty();
  }

  /** The temp tree that holds everything of this daemon: roots, socket, logs, configs. */
  /** Where this daemon serves /metrics (a random port; taken by another test, no metrics). */
  public int metricsPort() {
    return metricsPort;
  }

  public Path base() {
    return base;
  }

  public Path root() {
    return base.resolve("root");
  }

  public Path runRoot() {
    return base.resolve("run");
  }

  public Path socket() {
    return runRoot().resolve("cri.sock");
  }

  /** Where tests put their pods' log directories (instead of /var/log/pods). */
  public Path podLogs() {
    return base.resolve("pods");
  }

  /** The manifest directory of {@link #staticPods()}. */
  public Path manifests() {
    return base.resolve("manifests");
  }

  /** The daemon's config file (YAML); absent means defaults. Write it, then {@link #restart()}. */
  public Path configFile() {
    return base.resolve("config.yaml");
  }

  /** The daemon's registry auth file (docker auth.json format); absent until a test writes it. */
  public Path registryAuthFile() {
    return base.resolve("auth.json");
  }

  public Path logFile() {
    return base.resolve("daemon.log");
  }

  public String bridge() {
    return bridge;
  }

  public String subnet() {
    return subnet;
  }

  /** What a daemon that was not meant to run did: whether it exited, its code and output. */
  public record Attempt(boolean exited, int exitCode, String output) {}

  /**
   * Starts a second daemon with exactly this one's flags (same socket, same state) while this one
   * runs, and waits up to {@code timeout} for it to give up. A second daemon still running after
   * that is killed and reported as not exited.
   */
  public Attempt startAnother(Duration timeout) {
    List<String> command = criCommand();
    try {
      Path output = Files.createTempFile(base, "second-daemon-", ".log");
      Process second =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .redirectErrorStream(true)
              .redirectOutput(output.toFile())
              .start();
      boolean exited = second.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!exited) {
        second.destroyForcibly().waitFor();
      }
      return new Attempt(exited, exited ? second.exitValue() : -1, Files.readString(output));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running a second daemon", e);
    }
  }

  /** A gRPC client of this daemon's socket; the caller closes it. */
  public CriClient newClient() {
    return new CriClient(socket());
  }

  /** The last lines of the daemon's log, for failure messages. */
  public String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log at " + logFile() + ": " + e.getMessage() + ")";
    }
  }

  private Path cniConfDir() {
    // Empty on purpose: the daemon uses its built-in conflist with our bridge and subnet, never
    // whatever the host has in /etc/cni/net.d.
    return base.resolve("cni-conf");
  }

  private List<String> criCommand() {
    List<String> role =
        staticPods
            ? List.of(
                "run",
                "--manifests",
                manifests().toString(),
                "--pod-log-dir",
                podLogs().toString(),
                "--node-name",
                "e2e")
            : List.of("cri");
    List<String> command = new ArrayList<>(role);
    command.addAll(daemonFlags());
    return javaCommand(command.toArray(String[]::new));
  }

  private List<String> daemonFlags() {
    return List.of(
        "--config",
        configFile().toString(),
        "--registry-auth-file",
        registryAuthFile().toString(),
        "--socket",
        socket().toString(),
        "--root",
        root().toString(),
        "--run-root",
        runRoot().toString(),
        "--cni-conf-dir",
        cniConfDir().toString(),
        "--cni-bridge",
        bridge,
        "--cni-subnet",
        subnet,
        "--log-level",
        "debug");
  }

  private List<String> javaCommand(String... args) {
    List<String> command = new ArrayList<>();
    command.add(environment.java().toString());
    command.add("--enable-native-access=ALL-UNNAMED");
    command.add("-jar");
    command.add(environment.requireSpawnletJar().toString());
    command.addAll(List.of(args));
    return command;
  }

  private void awaitSocket() {
    Instant deadline = Instant.now().plus(START_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new AssertionError(
            "spawnlet exited with code "
                + process.exitValue()
                + " during start-up; log "
                + logFile()
                + ":\n"
                + logTail(40));
      }
      if (Files.exists(socket()) && crictl.tryRun("version").succeeded()) {
        return;
      }
      sleep(Duration.ofMillis(100));
    }
    throw new AssertionError(
        "spawnlet did not answer on "
            + socket()
            + " within "
            + START_TIMEOUT
            + ":\n"
            + logTail(40));
  }

  /** Keeps the daemon's log in target/daemon-logs (the temp tree goes), for reading failures. */
  private void keepLog() {
    try {
      Path kept = Path.of("target", "daemon-logs", base.getFileName() + ".log");
      Files.createDirectories(kept.getParent());
      if (Files.exists(logFile())) {
        Files.copy(logFile(), kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        System.err.println("e2e: daemon log kept in " + kept.toAbsolutePath());
      }
    } catch (IOException e) {
      System.err.println("e2e: cannot keep the daemon log: " + e);
    }
  }

  /**
   * Removes what a failed test may have left: processes, mounts, the bridge, then the temp tree.
   * The tree is deleted only when no mount is left under it, so a stuck bind mount can never lead
   * the deletion into a host directory.
   */
  private void cleanUp() {
    keepLog();
    // With their descendants: killing a conmon leaves its container running, re-parented.
    List<ProcessHandle> processes = new ArrayList<>();
    for (ProcessHandle leftover : HostLeftovers.processesUsing(base)) {
      processes.add(leftover);
      leftover.descendants().forEach(processes::add);
    }
    for (ProcessHandle leftover : processes) {
      System.err.println("e2e cleanup: killing " + HostLeftovers.describe(leftover));
      leftover.destroyForcibly();
    }
    for (ProcessHandle leftover : processes) {
      leftover.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> leftover).join();
    }
    for (Path mount : HostLeftovers.mountsUnder(base)) {
      System.err.println("e2e cleanup: unmounting " + mount);
      runQuietly("umount", "--lazy", mount.toString());
    }
    if (Files.exists(Path.of("/sys/class/net", bridge))) {
      runQuietly("ip", "link", "delete", bridge);
    }
    List<Path> stuck = HostLeftovers.mountsUnder(base);
    if (!stuck.isEmpty()) {
      System.err.println("e2e cleanup: keeping " + base + ", mounts remain: " + stuck);
      return;
    }
    try (Stream<Path> tree = Files.walk(base)) {
      tree.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      System.err.println("e2e cleanup: cannot delete " + base + ": " + e);
    }
  }

  private static void runQuietly(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        System.err.println("e2e cleanup: " + String.join(" ", command) + ": " + output.trim());
      }
    } catch (IOException e) {
      System.err.println("e2e cleanup: " + String.join(" ", command) + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
