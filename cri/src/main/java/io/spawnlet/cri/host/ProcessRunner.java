package io.spawnlet.cri.host;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Runs a short program to its end and collects its exit code, stdout and stderr: the OCI runtime's
 * {@code start}, {@code kill}, {@code state}, {@code delete}.
 *
 * <p>Why not {@link ProcessBuilder}: the JDK starts every child through its {@code jspawnhelper}
 * (an extra exec, about 1.5 ms here) and reads its pipes through blocking streams. This spawns the
 * program directly with {@link ProcessSpawner} (posix_spawn, no other descriptor leaks into the
 * child) and does all waiting (poll on the pipes, waitpid) in one {@link PlatformBlocking} call, so
 * a virtual caller parks rather than pinning its carrier.
 */
public final class ProcessRunner {
  private static final int SIGKILL = 9;

  /** How a run ended; {@code timedOut} means the program was killed at the deadline. */
  public record Outcome(int exitCode, byte[] stdout, byte[] stderr, boolean timedOut) {}

  private final ProcessSpawner spawner;

  public ProcessRunner(ProcessSpawner spawner) {
    this.spawner = spawner;
  }

  /**
   * Runs {@code argv} (argv[0] absolute) with stdin from /dev/null; kills it with SIGKILL when it
   * outlives {@code timeout}.
   */
  public Outcome run(List<String> argv, Map<String, String> env, Duration timeout) {
    int[] out = Syscalls.pipe();
    int[] err;
    try {
      err = Syscalls.pipe();
    } catch (RuntimeException e) {
      Syscalls.close(out[0]);
      Syscalls.close(out[1]);
      throw e;
    }
    int pid;
    try {
      pid = spawner.spawn(ProcessSpawner.Request.of(argv, env).withOutputFds(out[1], err[1]));
    } catch (RuntimeException e) {
      for (int fd : new int[] {out[0], out[1], err[0], err[1]}) {
        Syscalls.close(fd);
      }
      throw e;
    }
    // The child holds its own copies now: EOF comes when it (and its children) close them.
    Syscalls.close(out[1]);
    Syscalls.close(err[1]);
    try {
      return PlatformBlocking.call(() -> collect(pid, out[0], err[0], timeout));
    } finally {
      Syscalls.close(out[0]);
      Syscalls.close(err[0]);
    }
  }

  private static Outcome collect(int pid, int outFd, int errFd, Duration timeout) {
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    int[] fds = {outFd, errFd};
    ByteArrayOutputStream[] sinks = {stdout, stderr};
    byte[] chunk = new byte[8192];
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean timedOut = false;
    while (fds[0] >= 0 || fds[1] >= 0) {
      long left = (deadline - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        timedOut = true;
        break;
      }
      for (int i : Syscalls.pollReadable(fds, (int) Math.min(left, Integer.MAX_VALUE))) {
        int n = Syscalls.read(fds[i], chunk);
        if (n == 0) {
          fds[i] = -1; // EOF: poll(2) ignores negative fds
        } else {
          sinks[i].write(chunk, 0, n);
        }
      }
    }
    if (timedOut) {
      Syscalls.kill(pid, SIGKILL);
    }
    int status = Syscalls.waitpid(pid);
    return new Outcome(
        Syscalls.exitCode(status), stdout.toByteArray(), stderr.toByteArray(), timedOut);
  }
}
