package io.spawnlet.cri.oci;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports container exits from conmon's exit directory: conmon writes the exit code (128 + signal
 * for a killed process) into {@code <exit dir>/<container id>} when the container ends. On {@link
 * #start()} every file already there is reported first (exits that happened while the daemon was
 * down), then new ones as they appear. A container may therefore be reported more than once (at
 * every daemon start until its exit file is removed by {@link OciRuntime#delete}): listeners must
 * be idempotent.
 */
public final class ExitMonitor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ExitMonitor.class);

  /** One ended container. {@code finishedAt} is the exit file's modification time. */
  public record Exit(String containerId, int exitCode, Instant finishedAt) {}

  @FunctionalInterface
  public interface Listener {
    void exited(Exit exit);
  }

  private final Path exitDir;
  private final Listener listener;
  private WatchService watcher;
  private Thread thread;

  public ExitMonitor(Path exitDir, Listener listener) {
    this.exitDir = exitDir;
    this.listener = listener;
  }

  /** Starts watching (before the rescan, so that no exit falls between the two). */
  public synchronized void start() {
    try {
      Files.createDirectories(exitDir);
      watcher = exitDir.getFileSystem().newWatchService();
      // conmon writes the file in place: report when it is complete (modify), and on create for
      // writers that rename a finished file into place.
      exitDir.register(
          watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
      try (Stream<Path> files = Files.list(exitDir)) {
        files.forEach(this::report);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot watch exit directory " + exitDir, e);
    }
    thread = Thread.ofPlatform().daemon().name("exit-monitor").start(this::loop);
  }

  /** Reads one exit file, if it is complete; used by the watcher and by callers that poll. */
  public static Optional<Exit> read(Path exitFile) {
    try {
      String text = Files.readString(exitFile).strip();
      if (text.isEmpty()) {
        return Optional.empty();
      }
      return Optional.of(
          new Exit(
              exitFile.getFileName().toString(),
              Integer.parseInt(text),
              Files.getLastModifiedTime(exitFile).toInstant()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  private void loop() {
    try {
      while (true) {
        WatchKey key = watcher.take();
        for (WatchEvent<?> event : key.pollEvents()) {
          if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
            try (Stream<Path> files = Files.list(exitDir)) {
              files.forEach(this::report);
            }
          } else if (event.context() instanceof Path name) {
            report(exitDir.resolve(name));
          }
        }
        if (!key.reset()) {
          LOG.warn("exit directory {} is gone: no more exits will be reported", exitDir);
          return;
        }
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // closed
    } catch (IOException e) {
      LOG.error("exit monitor of {} stopped", exitDir, e);
    }
  }

  private void report(Path file) {
    read(file)
        .ifPresent(
            exit -> {
              try {
                listener.exited(exit);
              } catch (RuntimeException e) {
                LOG.error("exit listener failed for container {}", exit.containerId(), e);
              }
            });
  }

  @Override
  public synchronized void close() {
    if (watcher != null) {
      try {
        watcher.close();
      } catch (IOException e) {
        LOG.debug("closing watcher", e);
      }
    }
    if (thread != null) {
      thread.interrupt();
    }
  }
}
