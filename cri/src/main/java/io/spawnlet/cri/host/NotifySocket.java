package io.spawnlet.cri.host;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;

/**
 * A host-side {@code NOTIFY_SOCKET}: a unix datagram socket bound at a path, where a container's
 * systemd (relayed by crun) sends its sd_notify messages ({@code READY=1}, {@code STATUS=…}). The
 * JDK has no unix datagram sockets, so this binds the three libc calls it needs itself (kept apart
 * from {@link Syscalls} so socket activation's socket code and this one do not collide).
 *
 * <p>Non-blocking: {@link #drain} returns what is queued and never waits, so no thread per
 * container is needed; whoever wants the readiness asks.
 */
public final class NotifySocket implements AutoCloseable {
  /** sun_path is 108 bytes including the terminating NUL. */
  public static final int MAX_PATH_BYTES = 107;

  private static final int AF_UNIX = 1;
  private static final int SOCK_DGRAM = 2;
  private static final int SOCK_NONBLOCK = 0x800;
  private static final int SOCK_CLOEXEC = 0x80000;
  private static final int MSG_DONTWAIT = 0x40;
  private static final int EINTR = 4;
  private static final int EAGAIN = 11;

  /** The libc functions we bind. Names are the C names. */
  public interface LibC {
    @SaveError
    int socket(int domain, int type, int protocol);

    @SaveError
    int bind(int fd, byte[] address, int length);

    @SaveError
    long recv(int fd, @Out byte[] buf, long length, int flags);

    int close(int fd);

    @SaveError
    int poll(int[] fds, long nfds, int timeoutMillis);
  }

  private static final LibC LIBC =
      LibraryLoader.create(LibC.class).load(Platform.getNativePlatform().getStandardCLibraryName());
  private static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

  private final int fd;
  private final Path path;

  private NotifySocket(int fd, Path path) {
    this.fd = fd;
    this.path = path;
  }

  /** Binds a fresh socket at {@code path} (a stale file there is replaced). */
  public static NotifySocket bind(Path path) {
    byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
    if (name.length > MAX_PATH_BYTES) {
      throw new IllegalArgumentException(
          "notify socket path "
              + path
              + " is longer than "
              + MAX_PATH_BYTES
              + " bytes (unix socket limit): use a shorter state root");
    }
    try {
      Files.createDirectories(path.getParent());
      Files.deleteIfExists(path);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("preparing notify socket " + path, e);
    }
    int fd = LIBC.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      throw new SyscallException("socket(AF_UNIX, SOCK_DGRAM)", RUNTIME.getLastError());
    }
    byte[] address = new byte[2 + MAX_PATH_BYTES + 1];
    address[0] = AF_UNIX; // sa_family_t, little-endian
    System.arraycopy(name, 0, address, 2, name.length);
    if (LIBC.bind(fd, address, 2 + name.length + 1) < 0) {
      int errno = RUNTIME.getLastError();
      LIBC.close(fd);
      throw new SyscallException("bind(" + path + ")", errno);
    }
    // Anyone in the container may notify (systemd checks senders itself; only PID 1 matters).
    path.toFile().setWritable(true, false);
    return new NotifySocket(fd, path);
  }

  public Path path() {
    return path;
  }

  /** Waits until a message is queued or {@code timeoutMillis} passed; true if one is. */
  public boolean await(int timeoutMillis) {
    int[] pollfd = {fd, 1}; // struct pollfd {int fd; short events=POLLIN; short revents}
    int n = LIBC.poll(pollfd, 1, timeoutMillis);
    if (n < 0) {
      int errno = RUNTIME.getLastError();
      if (errno == EINTR) {
        return false;
      }
      throw new SyscallException("poll(" + path + ")", errno);
    }
    return n > 0;
  }

  /** The messages queued now (each one datagram's text), without waiting. */
  public List<String> drain() {
    List<String> messages = new ArrayList<>();
    byte[] buf = new byte[4096];
    while (true) {
      long n = LIBC.recv(fd, buf, buf.length, MSG_DONTWAIT);
      if (n >= 0) {
        messages.add(new String(Arrays.copyOf(buf, (int) n), StandardCharsets.UTF_8));
        continue;
      }
      int errno = RUNTIME.getLastError();
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        return messages;
      }
      throw new SyscallException("recv(" + path + ")", errno);
    }
  }

  @Override
  public void close() {
    LIBC.close(fd);
    try {
      Files.deleteIfExists(path);
    } catch (java.io.IOException e) {
      // The socket file sits in the container's own directory, deleted with it.
    }
  }
}
