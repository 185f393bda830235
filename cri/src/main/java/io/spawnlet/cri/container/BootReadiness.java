package io.spawnlet.cri.container;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.NotifySocket;
import io.spawnlet.cri.oci.OciRuntime;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Readiness of system containers through systemd's notify protocol, the way {@code systemd-nspawn}
 * does it (runtime-independent: crun's own NOTIFY_SOCKET relay in 1.8 cannot be split between
 * {@code create} and {@code start}).
 *
 * <pre>
 *   CreateContainer: bind <root>/notify/<id>/notify (datagram) ── bind-mounted read-only at
 *                    /run/host/notify, env NOTIFY_SOCKET=/run/host/notify/notify for PID 1
 *   StartContainer:  runtime start ──> systemd boots ── READY=1 ──> our socket ──> ready
 *                    (a marker file); STATUS= lines kept for ContainerStatus
 * </pre>
 *
 * <b>StartContainer blocks until READY=1</b>, like {@code systemd-nspawn --notify-ready=yes}:
 * "started" then means "booted", so the node agent's startup condition and crictl's view agree with
 * no polling, and a boot that hangs fails the call that started it. The wait is bounded by the pod
 * annotation {@value #TIMEOUT_ANNOTATION} (default {@link #DEFAULT_TIMEOUT}); past it the container
 * is killed and the error carries the tail of its boot log (the console output in the CRI log). The
 * ready marker survives a daemon restart; the socket does not need to (READY=1 is sent once per
 * boot).
 */
public final class BootReadiness {
  private static final Logger LOG = LoggerFactory.getLogger(BootReadiness.class);

  public static final String TIMEOUT_ANNOTATION = "spawnlet.io/boot-timeout";
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);
  static final int BOOT_LOG_TAIL_LINES = 15;

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)?");

  private final Path dir;
  private final ConcurrentMap<String, NotifySocket> sockets = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, String> statusText = new ConcurrentHashMap<>();

  /** {@code dir}: where the sockets and ready markers live (short: sun_path holds 107 bytes). */
  public BootReadiness(Path dir) {
    this.dir = dir;
  }

  /** Binds the container's notify socket; returns its directory, to bind into the container. */
  Path open(String id) {
    NotifySocket socket = NotifySocket.bind(socketPath(id));
    sockets.put(id, socket);
    return socket.path().getParent();
  }

  /**
   * Starts a system container and returns once its systemd said READY=1 (see the class comment).
   *
   * @param log the container's CRI log (the boot log), for the error of a boot that hangs
   */
  void start(String id, OciRuntime runtime, Duration timeout, Path log, BooleanSupplier exited) {
    // After a daemon restart the socket is re-bound at the same path: the container sees the
    // directory, not the file, so the new socket is the one its systemd will find.
    NotifySocket socket = sockets.computeIfAbsent(id, k -> NotifySocket.bind(socketPath(k)));
    runtime.start(id);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!ready(id)) {
      if (exited.getAsBoolean()) {
        throw new CriException(
            CriException.Kind.INTERNAL,
            "system container "
                + id
                + " exited before its init reported READY=1; last lines of its boot log "
                + log
                + ":\n"
                + String.join("\n", bootLogTail(log, BOOT_LOG_TAIL_LINES)));
      }
      long left = deadline - System.nanoTime();
      if (left > 0) {
        socket.await((int) Math.min(250, Math.max(1, left / 1_000_000)));
        continue;
      }
      runtime.kill(id, 9, true);
      throw new CriException(
          CriException.Kind.DEADLINE_EXCEEDED,
          "system container "
              + id
              + " did not report READY=1 within "
              + timeout.toSeconds()
              + "s (pod annotation "
              + TIMEOUT_ANNOTATION
              + " sets the limit) and was killed; last lines of its boot log "
              + log
              + ":\n"
              + String.join("\n", bootLogTail(log, BOOT_LOG_TAIL_LINES)));
    }
  }

  /** Whether the container's systemd has reported READY=1. */
  public boolean ready(String id) {
    observe(id);
    return Files.exists(readyMarker(id));
  }

  /** The last {@code STATUS=} text systemd sent, if any. */
  public Optional<String> status(String id) {
    observe(id);
    return Optional.ofNullable(statusText.get(id));
  }

  /** For the node agent: waits (polling) until READY=1 or {@code timeout}; true when ready. */
  public boolean awaitReady(String id, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!ready(id)) {
      if (System.nanoTime() >= deadline) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  /** Closes the socket and forgets the container (RemoveContainer, or a failed create). */
  void close(String id) {
    Optional.ofNullable(sockets.remove(id)).ifPresent(NotifySocket::close);
    statusText.remove(id);
    try {
      Files.deleteIfExists(readyMarker(id));
      Files.deleteIfExists(socketPath(id));
      Files.deleteIfExists(socketPath(id).getParent());
    } catch (IOException e) {
      // Never block a removal on these few bytes: they sit under the state root, reported here.
      LOG.warn("cannot remove notify files of {}: {}", id, e.toString());
    }
  }

  /** The boot timeout a pod asks for ("90", "90s", "2m", "1500ms"), else the default. */
  static Duration timeout(Map<String, String> podAnnotations) {
    String value = podAnnotations.get(TIMEOUT_ANNOTATION);
    if (value == null || value.isBlank()) {
      return DEFAULT_TIMEOUT;
    }
    Matcher m = DURATION.matcher(value.strip());
    if (!m.matches()) {
      throw CriException.invalid(
          "annotations[" + TIMEOUT_ANNOTATION + "]",
          "\"" + value + "\" is not a duration: write e.g. 90s, 2m or 1500ms");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofSeconds(n);
    };
  }

  /** The last {@code n} lines of a CRI log, without the timestamp/stream/tag prefix. */
  static List<String> bootLogTail(Path log, int n) {
    List<String> lines;
    try {
      lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return List.of("(boot log " + log + " unreadable: " + e.getMessage() + ")");
    }
    List<String> tail = new ArrayList<>();
    for (String line : lines.subList(Math.max(0, lines.size() - n), lines.size())) {
      String[] parts = line.split(" ", 4);
      tail.add(parts.length == 4 ? parts[3] : line);
    }
    return tail;
  }

  private void observe(String id) {
    NotifySocket socket = sockets.get(id);
    if (socket == null) {
      return;
    }
    for (String message : socket.drain()) {
      for (String line : message.split("\n")) {
        if (line.equals("READY=1")) {
          markReady(id);
        } else if (line.startsWith("STATUS=")) {
          statusText.put(id, line.substring("STATUS=".length()));
        }
      }
    }
  }

  private void markReady(String id) {
    try {
      AtomicFiles.write(readyMarker(id), new byte[0]);
    } catch (IOException e) {
      throw CriException.internal("recording readiness of " + id + ": " + e.getMessage(), e);
    }
  }

  private Path socketPath(String id) {
    return dir.resolve(shortId(id)).resolve("notify");
  }

  private Path readyMarker(String id) {
    return dir.resolve(shortId(id) + ".ready");
  }

  private static String shortId(String id) {
    return id.length() > 32 ? id.substring(0, 32) : id;
  }
}
