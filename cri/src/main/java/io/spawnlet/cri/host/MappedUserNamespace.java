package io.spawnlet.cri.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * A user namespace with given uid/gid maps, open as a file descriptor, for {@link
 * Syscalls#idmappedBind}. A multi-threaded process (the JVM) cannot unshare a user namespace, so a
 * child ({@code unshare --user sleep}) makes it; we write its maps as root of the parent namespace
 * (no setgroups restriction applies to us), open {@code /proc/<pid>/ns/user}, and end the child:
 * the fd, and every idmapped mount made with it, keep the namespace alive as long as they need.
 */
public final class MappedUserNamespace implements AutoCloseable {
  private static final Duration ENTER_TIMEOUT = Duration.ofSeconds(10);
  private final Process child;
  private final int fd;

  private MappedUserNamespace(Process child, int fd) {
    this.child = child;
    this.fd = fd;
  }

  /** A namespace with {@code uidMap}/{@code gidMap} (uid_map file lines). */
  public static MappedUserNamespace create(String uidMap, String gidMap) {
    Process child;
    try {
      child =
          new ProcessBuilder("unshare", "--user", "--", "sleep", "60")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start unshare(1) for a user namespace: " + e, e);
    }
    try {
      Path proc = Path.of("/proc", Long.toString(child.pid()));
      awaitOwnNamespace(child, proc);
      Files.writeString(proc.resolve("uid_map"), uidMap, StandardCharsets.US_ASCII);
      Files.writeString(proc.resolve("gid_map"), gidMap, StandardCharsets.US_ASCII);
      int fd = Syscalls.openReadOnly(proc.resolve("ns/user").toString());
      return new MappedUserNamespace(child, fd);
    } catch (IOException | RuntimeException e) {
      stop(child);
      throw new IllegalStateException(
          "cannot make a user namespace with uid_map \"" + uidMap.strip() + "\": " + e, e);
    }
  }

  public int fd() {
    return fd;
  }

  @Override
  public void close() {
    Syscalls.close(fd);
    stop(child);
  }

  /** The child has run unshare(CLONE_NEWUSER) once its ns/user differs from ours. */
  private static void awaitOwnNamespace(Process child, Path proc) throws IOException {
    Path ours = Files.readSymbolicLink(Path.of("/proc/self/ns/user"));
    Instant deadline = Instant.now().plus(ENTER_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      if (!child.isAlive()) {
        throw new IOException("unshare --user exited with " + child.exitValue());
      }
      if (!Files.readSymbolicLink(proc.resolve("ns/user")).equals(ours)) {
        return;
      }
      Thread.onSpinWait();
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted waiting for unshare --user", e);
      }
    }
    throw new IOException("unshare --user did not enter a new user namespace in " + ENTER_TIMEOUT);
  }

  private static void stop(Process child) {
    child.destroyForcibly();
    try {
      child.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
