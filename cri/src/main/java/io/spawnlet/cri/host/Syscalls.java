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
  public static final int POLLIN = 1;

  public static final int MNT_DETACH = 2;

  public static final int S_IFIFO = 0010000;
  public static final int S_IFCHR = 0020000;
  public static final int S_IFBLK = 0060000;

  private static final int AT_FDCWD = -100;
  private static final int AT_SYMLINK_NOFOLLOW = 0x100;
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
  private static final long SYS_OPEN_TREE = 428;
  private static final long SYS_MOVE_MOUNT = 429;
  private static final long SYS_MOUNT_SETATTR = 442;
  private static final long OPEN_TREE_CLONE = 1;
  private static final long AT_EMPTY_PATH = 0x1000;
  private static final long MOVE_MOUNT_F_EMPTY_PATH = 0x4;
  private static final long MOUNT_ATTR_IDMAP = 0x00100000;

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

    /** open_tree(2): dfd, path, flags. */
    @SaveError
    long syscall(long number, long dfd, String path, long flags);

    /** mount_setattr(2): dfd, path, flags, struct mount_attr, its size. */
    @SaveError
    long syscall(long number, long dfd, String path, long flags, long[] attr, long size);

    /** move_mount(2): from dfd, from path, to dfd, to path, flags. */
    @SaveError
    long syscall(long number, long fromDfd, String fromPath, long toDfd, String toPath, long flags);

    @SaveError
    int close(int fd);

    @SaveError
    int mknod(String path, int mode, long dev);

    @SaveError
    int lchown(String path, int uid, int gid);

    @SaveError
    int chmod(String path, int mode);

    @SaveError
    int utimensat(int dirfd, String path, long[] times, int flags);

    @SaveError
    int lsetxattr(String path, String name, byte[] value, long size, int flags);

    @SaveError
    long lgetxattr(String path, String name, byte[] value, long size);

    @SaveError
    long llistxattr(String path, byte[] list, long size);

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

    @SaveError
    int open(String path, int flags);

    @SaveError
    int rmdir(String path);

    @SaveError
    int statfs(String path, @Out byte[] buf);

    @SaveError
    int socket(int domain, int type, int protocol);

    @SaveError
    int setsockopt(int fd, int level, int option, int[] value, int length);

    @SaveError
    int bind(int fd, byte[] address, int length);

    @SaveError
    int listen(int fd, int backlog);

    @SaveError
    int accept4(int fd, jnr.ffi.Pointer address, jnr.ffi.Pointer length, int flags);

    @SaveError
    int shutdown(int fd, int how);

    @SaveError
    int connect(int fd, byte[] address, int length);

    @SaveError
    long recvmsg(int fd, jnr.ffi.Pointer msg, int flags);

    @SaveError
    int ioctl(int fd, long request, short[] arg);
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

  /**
   * Binds {@code source} at {@code target} with its file owners shifted by the id mappings of the
   * user namespace {@code usernsFd} (an idmapped mount: open_tree clone, mount_setattr
   * MOUNT_ATTR_IDMAP, move_mount). A file of uid 0 on disk shows as the host uid the namespace maps
   * 0 to, and files created through the mount are stored with the reverse mapping.
   */
  public static void idmappedBind(String source, String target, int usernsFd) {
    long tree = LIBC.syscall(SYS_OPEN_TREE, AT_FDCWD, source, OPEN_TREE_CLONE | O_CLOEXEC);
    if (tree < 0) {
      throw new SyscallException("open_tree(" + source + ")", RUNTIME.getLastError());
    }
    try {
      // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
      long[] attr = {MOUNT_ATTR_IDMAP, 0, 0, usernsFd};
      if (LIBC.syscall(SYS_MOUNT_SETATTR, tree, "", AT_EMPTY_PATH, attr, 32) < 0) {
        throw new SyscallException(
            "mount_setattr(" + source + ", MOUNT_ATTR_IDMAP)", RUNTIME.getLastError());
      }
      if (LIBC.syscall(SYS_MOVE_MOUNT, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        throw new SyscallException(
            "move_mount(" + source + " -> " + target + ")", RUNTIME.getLastError());
      }
    } finally {
      LIBC.close((int) tree);
    }
  }

  public static void close(int fd) {
    LIBC.close(fd);
  }

  /** Creates a device node or fifo; {@code type} is one of S_IFCHR, S_IFBLK, S_IFIFO. */
  public static void mknod(String path, int type, int permissions, long major, long minor) {
    check(
        LIBC.mknod(path, type | (permissions & 07777), makedev(major, minor)),
        "mknod(" + path + ", 0" + Integer.toOctalString(type | permissions) + ")");
  }

  /** glibc's makedev: 12 bits of major and 20 of minor, split the way the kernel's dev_t is. */
  public static long makedev(long major, long minor) {
    return ((major & 0xfffff000L) << 32)
        | ((major & 0xfffL) << 8)
        | ((minor & 0xffffff00L) << 12)
        | (minor & 0xffL);
  }

  public static long major(long dev) {
    return ((dev >>> 8) & 0xfffL) | ((dev >>> 32) & 0xfffff000L);
  }

  public static long minor(long dev) {
    return (dev & 0xffL) | ((dev >>> 12) & 0xffffff00L);
  }

  /** Changes the owner of {@code path} itself, never of what a symlink points to. */
  public static void lchown(String path, long uid, long gid) {
    check(
        LIBC.lchown(path, (int) uid, (int) gid), "lchown(" + path + ", " + uid + ", " + gid + ")");
  }

  /**
   * Sets all twelve mode bits (setuid, setgid and sticky included, which Java's POSIX attribute
   * view cannot). Follows symlinks: call it only on a path known not to be one.
   */
  public static void chmod(String path, int mode) {
    check(
        LIBC.chmod(path, mode & 07777),
        "chmod(" + path + ", 0" + Integer.toOctalString(mode) + ")");
  }

  /** Sets access and modification time of {@code path} itself (a symlink is not followed). */
  public static void lutimes(String path, long epochSeconds, long nanos) {
    long[] times = {epochSeconds, nanos, epochSeconds, nanos};
    check(LIBC.utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), "utimensat(" + path + ")");
  }

  /**
   * Sets an extended attribute of {@code path} itself, in any namespace (trusted.*, security.*).
   */
  public static void lsetxattr(String path, String name, byte[] value) {
    check(
        LIBC.lsetxattr(path, name, value, value.length, 0),
        "lsetxattr(" + path + ", " + name + ")");
  }

  /** The extended attributes of {@code path} itself, by name. */
  public static java.util.Map<String, byte[]> lgetxattrs(String path) {
    java.util.Map<String, byte[]> result = new java.util.TreeMap<>();
    long listSize = LIBC.llistxattr(path, null, 0);
    if (listSize < 0) {
      int errno = RUNTIME.getLastError();
      if (errno == Errno.ENOTSUP) {
        return result;
      }
      throw new SyscallException("llistxattr(" + path + ")", errno);
    }
    if (listSize == 0) {
      return result;
    }
    byte[] list = new byte[(int) listSize];
    long got = LIBC.llistxattr(path, list, list.length);
    if (got < 0) {
      throw new SyscallException("llistxattr(" + path + ")", RUNTIME.getLastError());
    }
    int start = 0;
    for (int i = 0; i < got; i++) {
      if (list[i] == 0) {
        String name = new String(list, start, i - start, java.nio.charset.StandardCharsets.UTF_8);
        start = i + 1;
        long size = LIBC.lgetxattr(path, name, null, 0);
        if (size < 0) {
          continue; // removed meanwhile
        }
        byte[] value = new byte[(int) size];
        long read = LIBC.lgetxattr(path, name, value, value.length);
        if (read >= 0) {
          result.put(name, java.util.Arrays.copyOf(value, (int) read));
        }
      }
    }
    return result;
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

  public static final int AF_INET = 2;
  public static final int AF_INET6 = 10;
  public static final int SOCK_STREAM = 1;
  public static final int SOCK_DGRAM = 2;
  private static final int SOCK_CLOEXEC = O_CLOEXEC;
  private static final int SOL_SOCKET = 1;
  private static final int SO_REUSEADDR = 2;
  private static final int IPPROTO_IPV6 = 41;
  private static final int IPV6_V6ONLY = 26;

  /**
   * A close-on-exec socket bound to the wildcard address on {@code port} (a dual-stack {@code
   * [::]:port} with IPV6_V6ONLY off for AF_INET6, {@code 0.0.0.0:port} for AF_INET) and, for
   * SOCK_STREAM, listening with {@code backlog}. The socket belongs to the network namespace of the
   * calling thread. Returns the descriptor; closes it on failure.
   */
  public static int listeningSocket(int family, int type, int port, int backlog) {
    int fd = LIBC.socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      throw new SyscallException(
          "socket(" + family + ", " + type + ") for port " + port, RUNTIME.getLastError());
    }
    try {
      check(LIBC.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new int[] {1}, 4), "SO_REUSEADDR");
      byte[] address;
      if (family == AF_INET6) {
        check(LIBC.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, new int[] {0}, 4), "IPV6_V6ONLY=0");
        address = new byte[28]; // sockaddr_in6: family, port, flowinfo, in6addr_any, scope id
      } else {
        address = new byte[16]; // sockaddr_in: family, port, INADDR_ANY, zero padding
      }
      java.nio.ByteBuffer.wrap(address, 0, 2)
          .order(java.nio.ByteOrder.nativeOrder())
          .putShort((short) family);
      address[2] = (byte) (port >>> 8); // network byte order
      address[3] = (byte) port;
      check(LIBC.bind(fd, address, address.length), "bind(port " + port + ")");
      if (type == SOCK_STREAM) {
        check(LIBC.listen(fd, backlog), "listen(port " + port + ", " + backlog + ")");
      }
      return fd;
    } catch (RuntimeException e) {
      LIBC.close(fd);
      throw e;
    }
  }

  /**
   * Shuts both directions of a connected socket down: a thread blocked reading it returns (which a
   * plain close from another thread does not guarantee). Errors (not connected) are ignored.
   */
  public static void shutdown(int fd) {
    LIBC.shutdown(fd, 2); // SHUT_RDWR
  }

  /** Shuts the sending direction of a connected socket down: the peer reads end of file. */
  public static void shutdownWrite(int fd) {
    LIBC.shutdown(fd, 1); // SHUT_WR
  }

  /** Accepts a connection on a listening socket (close-on-exec); blocks if none is queued. */
  public static int accept(int fd) {
    while (true) {
      int conn = LIBC.accept4(fd, null, null, SOCK_CLOEXEC);
      if (conn >= 0) {
        return conn;
      }
      int errno = RUNTIME.getLastError();
      if (errno != Errno.EINTR) {
        throw new SyscallException("accept(" + fd + ")", errno);
      }
    }
  }

  /**
   * Waits until at least one of {@code fds} is readable (or hung up) and returns which, by index;
   * empty when {@code timeoutMillis} passed first.
   */
  public static java.util.List<Integer> pollReadable(int[] fds, int timeoutMillis) {
    // An array of struct pollfd, laid out as in pollReadable(int, int).
    int[] pollfds = new int[fds.length * 2];
    for (int i = 0; i < fds.length; i++) {
      pollfds[2 * i] = fds[i];
      pollfds[2 * i + 1] = POLLIN;
    }
    int rc;
    while ((rc = LIBC.poll(pollfds, fds.length, timeoutMillis)) < 0) {
      int errno = RUNTIME.getLastError();
      if (errno != Errno.EINTR) {
        throw new SyscallException("poll(" + fds.length + " fds)", errno);
      }
    }
    java.util.List<Integer> ready = new java.util.ArrayList<>();
    for (int i = 0; rc > 0 && i < fds.length; i++) {
      if ((pollfds[2 * i + 1] >>> 16) != 0) {
        ready.add(i);
      }
    }
    return ready;
  }

  public static final int AF_UNIX = 1;
  public static final int SOCK_SEQPACKET = 5;
  private static final int SOL_SOCKET_LEVEL = 1;
  private static final int SCM_RIGHTS = 1;
  private static final long TIOCSWINSZ = 0x5414;
  public static final int EIO = 5;

  /** A {@code struct sockaddr_un} for {@code path} (at most 107 bytes: the kernel's limit). */
  private static byte[] unixAddress(String path) {
    byte[] name = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (name.length > 107) {
      throw new SyscallException(
          "unix socket path too long (" + name.length + " > 107): " + path, Errno.EINVAL);
    }
    byte[] address = new byte[110];
    java.nio.ByteBuffer.wrap(address, 0, 2)
        .order(java.nio.ByteOrder.nativeOrder())
        .putShort((short) AF_UNIX);
    System.arraycopy(name, 0, address, 2, name.length);
    return address;
  }

  /**
   * A close-on-exec unix socket of {@code type} ({@link #SOCK_STREAM}, {@link #SOCK_SEQPACKET})
   * bound to {@code path} and listening. Returns the descriptor; closes it on failure.
   */
  public static int listeningUnixSocket(String path, int type) {
    int fd = LIBC.socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      throw new SyscallException("socket(AF_UNIX) for " + path, RUNTIME.getLastError());
    }
    try {
      byte[] address = unixAddress(path);
      check(LIBC.bind(fd, address, address.length), "bind(" + path + ")");
      check(LIBC.listen(fd, 4), "listen(" + path + ")");
      return fd;
    } catch (RuntimeException e) {
      LIBC.close(fd);
      throw e;
    }
  }

  /** A close-on-exec unix socket of {@code type} connected to {@code path}. */
  public static int connectUnix(String path, int type) {
    int fd = LIBC.socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      throw new SyscallException("socket(AF_UNIX) for " + path, RUNTIME.getLastError());
    }
    try {
      byte[] address = unixAddress(path);
      check(LIBC.connect(fd, address, address.length), "connect(" + path + ")");
      return fd;
    } catch (RuntimeException e) {
      LIBC.close(fd);
      throw e;
    }
  }

  /**
   * Receives one message on a connected unix socket and returns the first descriptor passed with it
   * (SCM_RIGHTS), as crun and runc hand over a terminal's master on their {@code --console-socket};
   * empty if the message carried none. Extra descriptors in the same message are closed.
   */
  public static java.util.Optional<Integer> receiveFd(int socketFd) {
    // struct msghdr (56 bytes on LP64): name, namelen, iov, iovlen, control, controllen, flags;
    // one iovec (16 bytes) over a 4 KiB payload; a control buffer for up to 8 descriptors.
    jnr.ffi.Pointer payload = jnr.ffi.Memory.allocateDirect(RUNTIME, 4096);
    jnr.ffi.Pointer iov = jnr.ffi.Memory.allocateDirect(RUNTIME, 16);
    jnr.ffi.Pointer control = jnr.ffi.Memory.allocateDirect(RUNTIME, 64);
    jnr.ffi.Pointer msg = jnr.ffi.Memory.allocateDirect(RUNTIME, 56);
    iov.putAddress(0, payload.address());
    iov.putLong(8, 4096);
    msg.putAddress(0, 0L);
    msg.putInt(8, 0);
    msg.putAddress(16, iov.address());
    msg.putLong(24, 1);
    msg.putAddress(32, control.address());
    msg.putLong(40, 64);
    msg.putInt(48, 0);
    while (true) {
      long n = LIBC.recvmsg(socketFd, msg, O_CLOEXEC); // MSG_CMSG_CLOEXEC has O_CLOEXEC's value
      if (n >= 0) {
        break;
      }
      int errno = RUNTIME.getLastError();
      if (errno != Errno.EINTR) {
        throw new SyscallException("recvmsg(" + socketFd + ")", errno);
      }
    }
    long controlLength = msg.getLong(40);
    // struct cmsghdr: size_t len, int level, int type, then the descriptors.
    if (controlLength < 20
        || control.getInt(8) != SOL_SOCKET_LEVEL
        || control.getInt(12) != SCM_RIGHTS) {
      return java.util.Optional.empty();
    }
    int count = (int) ((control.getLong(0) - 16) / 4);
    for (int i = 1; i < count; i++) {
      LIBC.close(control.getInt(16 + 4L * i));
    }
    return count < 1 ? java.util.Optional.empty() : java.util.Optional.of(control.getInt(16));
  }

  /** Sets the window size of the terminal {@code fd} (TIOCSWINSZ): its processes get SIGWINCH. */
  public static void setWindowSize(int fd, int rows, int columns) {
    short[] winsize = {(short) rows, (short) columns, 0, 0};
    check(LIBC.ioctl(fd, TIOCSWINSZ, winsize), "ioctl(" + fd + ", TIOCSWINSZ)");
  }

  /**
   * Reads like {@link #read} but returns -1 (end) for EIO, what a pty master gives once hung up.
   */
  public static int readTerminal(int fd, byte[] buf) {
    while (true) {
      long n = LIBC.read(fd, buf, buf.length);
      if (n >= 0) {
        return (int) n;
      }
      int errno = RUNTIME.getLastError();
      if (errno == EIO) {
        return -1;
      }
      if (errno != Errno.EINTR) {
        throw new SyscallException("read(" + fd + ")", errno);
      }
    }
  }

  /**
   * Writes {@code length} bytes of {@code data} from {@code offset}; retries EINTR/short writes.
   */
  public static void write(int fd, byte[] data, int offset, int length) {
    write(
        fd,
        offset == 0 && length == data.length
            ? data
            : java.util.Arrays.copyOfRange(data, offset, offset + length));
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
    public static final int ENOTEMPTY = 39;
    public static final int ENOTSUP = 95;

    private Errno() {}
  }
}
