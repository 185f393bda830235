package io.spawnlet.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The reference: systemd's own socket activation of the same rootfs. {@code systemd-socket-activate
 * -l 80} holds a dual-stack {@code [::]:80} socket (the address the image's {@code http.socket}
 * unit says, so systemd inside adopts it) and on the first connection execs {@code systemd-nspawn
 * -b}, which hands the socket to the container's systemd. It runs in a network namespace of the
 * benchmark's own (reached over a veth pair), so port 80 of the host is never touched. Stopping is
 * nspawn's clean poweroff on SIGTERM; then a new socket-activate listens.
 *
 * @param netns the benchmark's network namespace (under /run/netns)
 * @param address the namespace's end of the veth pair
 * @param rootfs the Debian image's root (an overlay the benchmark mounted, reused across wakes)
 * @param log where socket-activate's and nspawn's output goes
 */
record NspawnActivation(String netns, String address, Path rootfs, Path log) {
  static final int HTTP_PORT = 80;
  private static final Duration LISTEN_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration POWEROFF_TIMEOUT = Duration.ofSeconds(60);

  /** One listening systemd-socket-activate, then (after the first connection) the machine. */
  record Listener(Process process) {
    long pid() {
      return process.pid();
    }
  }

  InetSocketAddress http() {
    return new InetSocketAddress(address, HTTP_PORT);
  }

  /** Starts socket-activate and returns once its socket listens (without connecting to it). */
  Listener listen(String machine) throws IOException, InterruptedException {
    List<String> command =
        List.of(
            // nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup mounts nspawn
            // needs
            "nsenter",
            "--net=/run/netns/" + netns,
            "--",
            "systemd-socket-activate",
            "-l",
            Integer.toString(HTTP_PORT),
            "--",
            "systemd-nspawn",
            "-q",
            "-D",
            rootfs.toString(),
            "-b",
            "--register=no",
            "--keep-unit",
            "--private-network",
            "--console=passive",
            "--machine=" + machine);
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
    long deadline = System.nanoTime() + LISTEN_TIMEOUT.toNanos();
    while (!execed(process.pid()) || !listening(process.pid())) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        process.destroyForcibly();
        throw new IOException(
            "systemd-socket-activate in netns "
                + netns
                + " did not listen on port "
                + HTTP_PORT
                + " (exit "
                + (process.isAlive() ? "none" : process.exitValue())
                + "): see "
                + log);
      }
      Thread.sleep(5);
    }
    return new Listener(process);
  }

  /** Clean poweroff of the machine (nspawn turns SIGTERM into one); waits for nspawn to exit. */
  void powerOff(Listener listener) throws InterruptedException, IOException {
    Process process = listener.process();
    process.toHandle().destroy(); // SIGTERM
    if (!process.waitFor(POWEROFF_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor();
      throw new IOException("systemd-nspawn did not power off within " + POWEROFF_TIMEOUT);
    }
  }

  /** Whether {@code nsenter} has entered the namespace and exec'd socket-activate. */
  private static boolean execed(long pid) {
    return read(Path.of("/proc/" + pid + "/comm"))
        .map(l -> !l.isEmpty() && l.getFirst().startsWith("systemd-socket"))
        .orElse(false);
  }

  /** Whether pid's network namespace has a TCP socket listening on port 80 (state 0A). */
  private static boolean listening(long pid) {
    String port = String.format(Locale.ROOT, ":%04X", HTTP_PORT);
    for (String table : List.of("tcp6", "tcp")) {
      Optional<List<String>> lines = read(Path.of("/proc/" + pid + "/net/" + table));
      if (lines.isPresent()
          && lines.get().stream()
              .map(l -> l.strip().split("\\s+"))
              .anyMatch(f -> f.length > 3 && f[1].endsWith(port) && f[3].equals("0A"))) {
        return true;
      }
    }
    return false;
  }

  private static Optional<List<String>> read(Path path) {
    try {
      return Optional.of(Files.readAllLines(path));
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
