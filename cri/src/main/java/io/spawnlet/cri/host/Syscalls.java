package io.spawnlet.cri.host;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Out;
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

  public static final int O_RDONLY = 0;
  public static final int O_CLOEXEC = 0x80000;

  public static final int MNT_DETACH = 2;
  public static final int UMOUNT_NOFOLLOW = 8;

  public static final int CLONE_NEWNS = 0x00020000;
  public static final int CLONE_NEWCGROUP = 0x02000000;
  public static final int CLONE_NEWUTS = 0x04000000;
  public static final int CLONE_NEWIPC = 0x08000000;
  public static final int CLONE_NEWUSER = 0x10000000;
  public static final int CLONE_NEWPID = 0x20000000;
  public static final int CLONE_NEWNET = 0x40000000;

  /** statfs f_type of nsfs, the file system of /proc/PID/ns/* files and their bind mounts. */
  public static final long NSFS_MAGIC = 0x6e736673L;

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
    int open(String path, int flags);

    @SaveError
    int rmdir(String path);

    @SaveError
    int statfs(String path, @Out byte[] buf);
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

  /** Opens {@code path} read-only and close-on-exec; the caller closes the returned fd. */
  public static int openReadOnly(String path) {
    int fd = LIBC.open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw new SyscallException("open(" + path + ")", RUNTIME.getLastError());
    }
    return fd;
  }

  /**
   * Removes the directory {@code path} with rmdir(2) (the only way to remove a cgroup); returns
   * false (no error) if it did not exist.
   */
  public static boolean rmdir(String path) {
    if (LIBC.rmdir(path) == 0) {
      return true;
    }
    int errno = RUNTIME.getLastError();
    if (errno == Errno.ENOENT) {
      return false;
    }
    throw new SyscallException("rmdir(" + path + ")", errno);
  }

  /**
   * The file system type ({@code f_type}, a magic number such as {@link #NSFS_MAGIC}) of the file
   * system holding {@code path}. Reads the first field of {@code struct statfs}, which is a 64-bit
   * word on the LP64 platforms spawnlet runs on (x86_64, aarch64).
   */
  public static long statfsType(String path) {
    byte[] buf = new byte[256]; // struct statfs is 120 bytes on x86_64 and aarch64
    check(LIBC.statfs(path, buf), "statfs(" + path + ")");
    return java.nio.ByteBuffer.wrap(buf, 0, 8).order(java.nio.ByteOrder.nativeOrder()).getLong();
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
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENOTEMPTY = 39;

    private Errno() {}
  }
}
