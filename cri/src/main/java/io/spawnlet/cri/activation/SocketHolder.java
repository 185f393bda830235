package io.spawnlet.cri.activation;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.ProcessIdentity;
import io.spawnlet.cri.host.ProcessSpawner;
import io.spawnlet.cri.host.Syscalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The per-pod process that only keeps the pod's listening sockets open, so that neither a daemon
 * restart nor {@code kill -9} closes them (a closed listening socket resets every queued
 * connection). It is {@code sleep infinity} with the sockets as fds 3, 4, …, started through {@code
 * nsenter --net} so that it lives in the pod's netns: its {@code /proc/<pid>/net/tcp*} is then the
 * pod's socket table, read by {@link IdleProbe}.
 */
final class SocketHolder {
  static final Path NSENTER = Path.of("/usr/bin/nsenter");
  static final Path SLEEP = Path.of("/usr/bin/sleep");

  private final ProcessSpawner spawner;

  SocketHolder(ProcessSpawner spawner) {
    this.spawner = spawner;
  }

  /** A started holder: its pid and its start time (field 22 of /proc/pid/stat). */
  record Holder(int pid, long startTime) {}

  /** Starts the holder of {@code fds} in {@code netns}, running in {@code directory}. */
  Holder start(Path netns, List<Integer> fds, Path directory) {
    int pid =
        spawner.spawn(
            ProcessSpawner.Request.of(
                    List.of(
                        NSENTER.toString(), "--net=" + netns, "--", SLEEP.toString(), "infinity"),
                    Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
                .withPassedFds(fds)
                .inNewSession()
                .inDirectory(directory));
    // nsenter execs sleep in place; until it did, /proc/pid/net is still the host's.
    long startTime = startTime(pid).orElse(0L);
    for (int i = 0; i < 200 && !inNetns(pid, netns); i++) {
      sleepMillis(5);
    }
    if (!inNetns(pid, netns)) {
      stop(new Holder(pid, startTime), true);
      throw CriException.internal(
          "socket holder " + pid + " did not enter network namespace " + netns, null);
    }
    return new Holder(pid, startTime);
  }

  /**
   * Duplicates the holder's fds 3 … 3+count-1 into the daemon (pidfd_getfd); empty if the holder is
   * gone or its pid now belongs to another process.
   */
  Optional<List<Integer>> adopt(int pid, long startTime, int count) {
    if (startTime(pid).filter(t -> t == startTime).isEmpty()) {
      return Optional.empty();
    }
    int pidfd = Syscalls.pidfdOpen(pid);
    List<Integer> fds = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        fds.add(Syscalls.pidfdGetfd(pidfd, 3 + i));
      }
      return Optional.of(fds);
    } catch (RuntimeException e) {
      fds.forEach(Syscalls::close);
      throw e;
    } finally {
      Syscalls.close(pidfd);
    }
  }

  /** Kills the holder; reaps it when it is our child. */
  void stop(Holder holder, boolean ourChild) {
    if (startTime(holder.pid()).filter(t -> t == holder.startTime()).isEmpty()
        && holder.startTime() != 0) {
      return; // gone already (or the pid was reused)
    }
    Syscalls.kill(holder.pid(), 9);
    if (ourChild) {
      Syscalls.waitpid(holder.pid());
    }
  }

  static Optional<Long> startTime(int pid) {
    return ProcessIdentity.startTimeOf(pid);
  }

  private static boolean inNetns(int pid, Path netns) {
    try {
      Object mine = Files.readAttributes(Path.of("/proc/" + pid + "/ns/net"), "unix:ino");
      Object pinned = Files.readAttributes(netns, "unix:ino");
      return mine.equals(pinned);
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private static void sleepMillis(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
