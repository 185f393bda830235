package io.spawnlet.cri.host;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;

/**
 * The Linux system calls spawnlet makes itself (through jnr-ffi), each wrapped so that a failure
 * becomes a {@link SyscallException} carrying errno and the call's arguments. Everything that is
 * not in this class goes through a real program (crun, conmon, CNI plugins).
 */
public final class Syscalls {
  public static final long MS_RDONLY = 1;
  public static final long MS_NOSUID = 2;
  public static final long MS_NODEV = 4;
  public static final long MS_NOEXEC = 8;
  public static final long MS_REMOUNT = 32;
  public static final long MS_BIND = 4096;
  public static final long MS_REC = 16384;
  public static final long MS_PRIVATE = 1 << 18;
  public static final long MS_SLAVE = 1 << 19;
  public static final long MS_SHARED = 1 << 20;

  public static final int O_CLOEXEC = 0x80000;
  public static final int POLLIN = 1;

  public static final int MNT_DETACH = 2;
  public static final int UMOUNT_NOFOLLOW = 8;

  public static final int CLONE_NEWNS = 0x00020000;
  public static final int CLONE_NEWCGROUP = 0x02000000;
  public static final int CLONE_NEWUTS = 0x04000000;
  public static final int CLONE_NEWIPC = 0x08000000;
  public static final int CLONE_NEWUSER = 0x10000000;
  public static final int CLONE_NEWPID = 0x20000000;
  public static final int CLONE_NEWNET = 0x40000000;

  private static final long SYS_PIDFD_OPEN = 434;
  private static final long SYS_PIDFD_GETFD = 438;

  /** The libc functions we bind. Names are the C names. */
  public interface LibC {
    @SaveError
    int mount(String source, String target, String fstype, long flags, String data);

    @SaveError
    int umount2(String target, int flags);

    @SaveError
    int unshare(int flags);

    @SaveError
    int setns(int fd, int nstype);

    @SaveError
    int sethostname(String name, long len);

    @SaveError
    int kill(int pid, int sig);

    @SaveError
    long syscall(long number, long a1, long a2, long a3);

    @SaveError
    int close(int fd);

    @SaveError
    int pipe2(int[] fds, int flags);

    @SaveError
    long read(int fd, byte[] buf, long count);

    @SaveError
    long write(int fd, byte[] buf, long count);

    @SaveError
    int poll(int[] fds, long nfds, int timeoutMillis);

    @SaveError
    int waitpid(int pid, int[] status, int options);
  }

  private static final LibC LIBC =
      LibraryLoader.create(LibC.class).load(Platform.getNativePlatform().getStandardCLibraryName());
  private static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

  private Syscalls() {}

  public static void mount(String source, String target, String fstype, long flags, String data) {
    check(
        LIBC.mount(source, target, fstype, flags, data),
        "mount(" + source + ", " + target + ", " + fstype + ", 0x" + Long.toHexString(flags) + ")");
  }

  public static void bindMount(String source, String target, boolean readOnly) {
    mount(source, target, null, MS_BIND, null);
    if (readOnly) {
      mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY, null);
    }
  }

  /** Unmounts {@code target}; returns false (no error) if nothing was mounted there. */
  public static boolean umount(String target, int flags) {
    if (LIBC.umount2(target, flags) == 0) {
      return true;
    }
    int errno = RUNTIME.getLastError();
    if (errno == Errno.EINVAL || errno == Errno.ENOENT) {
      return false;
    }
    throw new SyscallException("umount2(" + target + ")", errno);
  }

  public static void unshare(int flags) {
    check(LIBC.unshare(flags), "unshare(0x" + Integer.toHexString(flags) + ")");
  }

  public static void setns(int fd, int nstype) {
    check(LIBC.setns(fd, nstype), "setns(" + fd + ", 0x" + Integer.toHexString(nstype) + ")");
  }

  public static void sethostname(String name) {
    check(
        LIBC.sethostname(name, name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length),
        "sethostname(" + name + ")");
  }

  /** Sends {@code signal}; returns false if the process no longer exists. */
  public static boolean kill(int pid, int signal) {
    if (LIBC.kill(pid, signal) == 0) {
      return true;
    }
    int errno = RUNTIME.getLastError();
    if (errno == Errno.ESRCH) {
      return false;
    }
    throw new SyscallException("kill(" + pid + ", " + signal + ")", errno);
  }

  /** A pidfd for {@code pid}: stable across pid reuse. The caller closes it. */
  public static int pidfdOpen(int pid) {
    long fd = LIBC.syscall(SYS_PIDFD_OPEN, pid, 0, 0);
    if (fd < 0) {
      throw new SyscallException("pidfd_open(" + pid + ")", RUNTIME.getLastError());
    }
    return (int) fd;
  }

  /** Duplicates file descriptor {@code targetFd} of the process behind {@code pidfd} into ours. */
  public static int pidfdGetfd(int pidfd, int targetFd) {
    long fd = LIBC.syscall(SYS_PIDFD_GETFD, pidfd, targetFd, 0);
    if (fd < 0) {
      throw new SyscallException(
          "pidfd_getfd(" + pidfd + ", " + targetFd + ")", RUNTIME.getLastError());
    }
    return (int) fd;
  }

  public static void close(int fd) {
    LIBC.close(fd);
  }

  /** A pipe, both ends close-on-exec: {@code [readFd, writeFd]}. */
  public static int[] pipe() {
    int[] fds = new int[2];
    check(LIBC.pipe2(fds, O_CLOEXEC), "pipe2(O_CLOEXEC)");
    return fds;
  }

  /** Reads up to {@code buf.length} bytes; returns 0 at end of file. Retries on EINTR. */
  public static int read(int fd, byte[] buf) {
    while (true) {
      long n = LIBC.read(fd, buf, buf.length);
      if (n >= 0) {
        return (int) n;
      }
      int errno = RUNTIME.getLastError();
      if (errno != Errno.EINTR) {
        throw new SyscallException("read(" + fd + ")", errno);
      }
    }
  }

  /** Writes all of {@code data}. Retries on EINTR and short writes. */
  public static void write(int fd, byte[] data) {
    int done = 0;
    while (done < data.length) {
      byte[] rest = done == 0 ? data : java.util.Arrays.copyOfRange(data, done, data.length);
      long n = LIBC.write(fd, rest, rest.length);
      if (n < 0) {
        int errno = RUNTIME.getLastError();
        if (errno == Errno.EINTR) {
          continue;
        }
        throw new SyscallException("write(" + fd + ")", errno);
      }
      done += (int) n;
    }
  }

  /**
   * Waits until {@code fd} is readable (or hung up); returns false when {@code timeoutMillis}
   * passed first. A negative timeout waits for ever.
   */
  public static boolean pollReadable(int fd, int timeoutMillis) {
    // struct pollfd {int fd; short events; short revents;}: two ints on a little-endian machine,
    // the second holding events in its low half and revents in its high half.
    int[] pollfd = {fd, POLLIN};
    while (true) {
      int rc = LIBC.poll(pollfd, 1, timeoutMillis);
      if (rc >= 0) {
        return rc > 0;
      }
      int errno = RUNTIME.getLastError();
      if (errno != Errno.EINTR) {
        throw new SyscallException("poll(" + fd + ")", errno);
      }
    }
  }

  /**
   * Waits for our child {@code pid} to end and returns its raw wait status (see {@link #exitCode}).
   */
  public static int waitpid(int pid) {
    int[] status = new int[1];
    while (true) {
      if (LIBC.waitpid(pid, status, 0) == pid) {
        return status[0];
      }
      int errno = RUNTIME.getLastError();
      if (errno != Errno.EINTR) {
        throw new SyscallException("waitpid(" + pid + ")", errno);
      }
    }
  }

  /** The shell convention for a wait status: the exit code, or 128 + the signal that killed it. */
  public static int exitCode(int waitStatus) {
    int signal = waitStatus & 0x7f;
    return signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal;
  }

  private static void check(int rc, String call) {
    if (rc != 0) {
      throw new SyscallException(call, RUNTIME.getLastError());
    }
  }

  /** errno values we react to. */
  public static final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;

    private Errno() {}
  }
}
