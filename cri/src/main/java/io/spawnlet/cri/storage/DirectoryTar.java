package io.spawnlet.cri.storage;

import io.spawnlet.cri.host.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Streams a directory tree (a debootstrap/mmdebstrap rootfs) as a layer tar, so that a rootfs dir
 * becomes a layer through the same verified unpack path as any blob and gets a real diffID. Entries
 * keep owner, mode, mtime, symlinks, hardlinks (by inode), devices, fifos and xattrs.
 */
final class DirectoryTar {
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;

  private DirectoryTar() {}

  /**
   * A stream of the tar of {@code dir}, written by a virtual thread; a failure while writing
   * surfaces as an IOException from the returned stream.
   */
  static InputStream stream(Path dir) throws IOException {
    PipedInputStream in = new PipedInputStream(1 << 20);
    PipedOutputStream out = new PipedOutputStream(in);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread.ofVirtual()
        .name("tar-" + dir.getFileName())
        .start(
            () -> {
              try (out) {
                write(dir, out);
              } catch (Throwable t) {
                failure.set(t);
              }
            });
    return new java.io.FilterInputStream(in) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        check(n);
        return n;
      }

      @Override
      public int read() throws IOException {
        int n = super.read();
        check(n);
        return n;
      }

      private void check(int n) throws IOException {
        if (n < 0 && failure.get() != null) {
          throw new IOException("writing the tar of " + dir + " failed", failure.get());
        }
      }
    };
  }

  static void write(Path dir, OutputStream out) throws IOException {
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out, "UTF-8")) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      Map<Object, String> firstNameOfInode = new HashMap<>();
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs)
                throws IOException {
              add(d, attrs);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
              add(f, attrs);
              return FileVisitResult.CONTINUE;
            }

            private void add(Path path, BasicFileAttributes attrs) throws IOException {
              String rel = dir.relativize(path).toString();
              String name = rel.isEmpty() ? "./" : attrs.isDirectory() ? rel + "/" : rel;
              Map<String, Object> unix =
                  Files.readAttributes(
                      path, "unix:mode,uid,gid,rdev,nlink", LinkOption.NOFOLLOW_LINKS);
              int mode = (Integer) unix.get("mode");
              int type = mode & S_IFMT;
              if (type == S_IFSOCK) {
                return; // sockets cannot be archived; a live one means the rootfs is in use
              }
              TarArchiveEntry entry;
              if (attrs.isSymbolicLink()) {
                entry = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
                entry.setLinkName(Files.readSymbolicLink(path).toString());
              } else if (attrs.isDirectory()) {
                entry = new TarArchiveEntry(name, TarConstants.LF_DIR);
              } else if (attrs.isRegularFile()) {
                if ((Integer) unix.get("nlink") > 1 && attrs.fileKey() != null) {
                  String first = firstNameOfInode.putIfAbsent(attrs.fileKey(), rel);
                  if (first != null) {
                    entry = new TarArchiveEntry(name, TarConstants.LF_LINK);
                    entry.setLinkName(first);
                    finish(entry, path, mode, unix, attrs.lastModifiedTime(), false);
                    return;
                  }
                }
                entry = new TarArchiveEntry(name, TarConstants.LF_NORMAL);
                entry.setSize(attrs.size());
              } else {
                byte flag =
                    switch (type) {
                      case Syscalls.S_IFCHR -> TarConstants.LF_CHR;
                      case Syscalls.S_IFBLK -> TarConstants.LF_BLK;
                      case Syscalls.S_IFIFO -> TarConstants.LF_FIFO;
                      default -> throw new IOException("cannot archive " + path + ": odd type");
                    };
                entry = new TarArchiveEntry(name, flag);
                long rdev = (Long) unix.get("rdev");
                entry.setDevMajor((int) Syscalls.major(rdev));
                entry.setDevMinor((int) Syscalls.minor(rdev));
              }
              finish(entry, path, mode, unix, attrs.lastModifiedTime(), attrs.isRegularFile());
            }

            private void finish(
                TarArchiveEntry entry,
                Path path,
                int mode,
                Map<String, Object> unix,
                FileTime mtime,
                boolean withContent)
                throws IOException {
              entry.setMode(mode & 07777);
              entry.setUserId(((Integer) unix.get("uid")).longValue());
              entry.setGroupId(((Integer) unix.get("gid")).longValue());
              entry.setModTime(mtime);
              for (Map.Entry<String, byte[]> x : Syscalls.lgetxattrs(path.toString()).entrySet()) {
                entry.addPaxHeader(
                    "SCHILY.xattr." + x.getKey(), new String(x.getValue(), StandardCharsets.UTF_8));
              }
              tar.putArchiveEntry(entry);
              if (withContent) {
                try (InputStream content = Files.newInputStream(path, LinkOption.NOFOLLOW_LINKS)) {
                  content.transferTo(tar);
                }
              }
              tar.closeArchiveEntry();
            }
          });
      tar.finish();
    }
  }
}
