package io.spawnlet.cri.host;

import io.spawnlet.cri.store.Directories;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;

/**
 * btrfs subvolumes and snapshots through the kernel's ioctls (as {@code btrfs subvolume
 * create/snapshot/delete} make them), so the daemon needs no btrfs-progs. Each call opens the
 * parent directory of the subvolume and passes the new or doomed name in a 4096-byte {@code
 * btrfs_ioctl_vol_args(_v2)}.
 */
public final class BtrfsSubvolumes {
  /** statfs f_type of btrfs. */
  public static final long BTRFS_SUPER_MAGIC = 0x9123683EL;

  /** The inode number of every subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
  private static final long SUBVOLUME_ROOT_INODE = 256;

  // _IOW(0x94, nr, 4096-byte args): direction write (1 << 30) | size << 16 | type << 8 | nr
  private static final long IOC_SUBVOL_CREATE = ioW(14);
  private static final long IOC_SNAP_DESTROY = ioW(15);
  private static final long IOC_SNAP_CREATE_V2 = ioW(23);
  private static final long SUBVOL_RDONLY = 1L << 1;
  private static final int ARGS_SIZE = 4096;

  /** btrfs_ioctl_vol_args: s64 fd, then the name. */
  private static final int NAME_OFFSET = 8;

  /** btrfs_ioctl_vol_args_v2: s64 fd, u64 transid, u64 flags, u64 unused[4], then the name. */
  private static final int NAME_OFFSET_V2 = 56;

  private static final int O_RDONLY = 0;
  private static final int O_DIRECTORY = 0200000;
  private static final int O_CLOEXEC = 0x80000;

  /** The libc functions we bind. */
  public interface LibC {
    @SaveError
    int open(String path, int flags);

    @SaveError
    int close(int fd);

    @SaveError
    int ioctl(int fd, long request, byte[] args);
  }

  private static final LibC LIBC =
      LibraryLoader.create(LibC.class).load(Platform.getNativePlatform().getStandardCLibraryName());
  private static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

  private BtrfsSubvolumes() {}

  private static long ioW(int nr) {
    return (1L << 30) | ((long) ARGS_SIZE << 16) | (0x94L << 8) | nr;
  }

  /** Whether {@code path} is on a btrfs file system. */
  public static boolean onBtrfs(Path path) {
    return Syscalls.statfsType(path.toString()) == BTRFS_SUPER_MAGIC;
  }

  /** Whether {@code path} is the root directory of a subvolume (on btrfs). */
  public static boolean isSubvolume(Path path) throws IOException {
    if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS) || !onBtrfs(path)) {
      return false;
    }
    Object ino = Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS);
    return ((Number) ino).longValue() == SUBVOLUME_ROOT_INODE;
  }

  /** Creates the empty subvolume {@code path} (its parent must exist, on btrfs). */
  public static void create(Path path) {
    byte[] args = argsNamed(path, NAME_OFFSET);
    inParent(path, "BTRFS_IOC_SUBVOL_CREATE", fd -> LIBC.ioctl(fd, IOC_SUBVOL_CREATE, args));
  }

  /**
   * Makes {@code target} a snapshot of the subvolume {@code source}: it shares every extent with
   * the source until either is written. Both must be on the same btrfs file system.
   */
  public static void snapshot(Path source, Path target, boolean readOnly) {
    int sourceFd = LIBC.open(source.toString(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sourceFd < 0) {
      throw new SyscallException("open(" + source + ")", RUNTIME.getLastError());
    }
    try {
      byte[] args = argsNamed(target, NAME_OFFSET_V2);
      ByteBuffer b = ByteBuffer.wrap(args).order(ByteOrder.nativeOrder());
      b.putLong(0, sourceFd);
      b.putLong(16, readOnly ? SUBVOL_RDONLY : 0);
      inParent(
          target,
          "BTRFS_IOC_SNAP_CREATE_V2 of " + source,
          fd -> LIBC.ioctl(fd, IOC_SNAP_CREATE_V2, args));
    } finally {
      LIBC.close(sourceFd);
    }
  }

  /**
   * Deletes the subvolume {@code path} with everything in it; nothing happens if it is gone. A
   * subvolume holding other subvolumes (systemd-tmpfiles makes some on a btrfs root) cannot be
   * destroyed in one call: its tree is then deleted file by file, nested subvolumes included (rmdir
   * removes an empty subvolume).
   */
  public static void delete(Path path) throws IOException {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    byte[] args = argsNamed(path, NAME_OFFSET);
    try {
      inParent(path, "BTRFS_IOC_SNAP_DESTROY", fd -> LIBC.ioctl(fd, IOC_SNAP_DESTROY, args));
    } catch (SyscallException e) {
      if (e.errno() != Syscalls.Errno.ENOTEMPTY) {
        throw e;
      }
      Directories.deleteTree(path);
    }
  }

  private static byte[] argsNamed(Path path, int nameOffset) {
    byte[] name = path.getFileName().toString().getBytes(StandardCharsets.UTF_8);
    byte[] args = new byte[ARGS_SIZE];
    if (name.length >= 256) {
      throw new IllegalArgumentException("subvolume name longer than 255 bytes: " + path);
    }
    System.arraycopy(name, 0, args, nameOffset, name.length);
    return args;
  }

  private interface DirCall {
    int call(int dirFd);
  }

  private static void inParent(Path path, String what, DirCall call) {
    Path parent = path.toAbsolutePath().getParent();
    int fd = LIBC.open(parent.toString(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      throw new SyscallException("open(" + parent + ")", RUNTIME.getLastError());
    }
    try {
      if (call.call(fd) != 0) {
        throw new SyscallException(what + " (" + path + ")", RUNTIME.getLastError());
      }
    } finally {
      LIBC.close(fd);
    }
  }
}
