package io.spawnlet.cri.storage;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.Syscalls;
import io.spawnlet.cri.store.Directories;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Applies an unpacked layer (its {@code diff} dir, in overlayfs form) onto a plain directory tree,
 * as overlayfs would show it: a whiteout (0/0 character device) deletes the path below it, an
 * opaque directory ({@code trusted.overlay.opaque=y}) hides what was in it, an entry of another
 * type replaces what was there, and everything else is copied over.
 *
 * <p>The copy is {@code cp -a --reflink=always}: file data is cloned, not copied (the target shares
 * the diff's extents, so a layer costs its metadata only), and owners, modes, times, hard links and
 * xattrs (file capabilities) are kept exactly as cp keeps them. Whatever could make cp follow a
 * symlink in the target (a link where the diff has a file or a directory) is deleted first.
 */
final class DiffApplier {
  private static final String OPAQUE = "trusted.overlay.opaque";
  private static final int S_IFMT = 0170000;
  private static final long COPY_TIMEOUT_MINUTES = 30;

  private DiffApplier() {}

  /** Applies {@code diff} onto {@code target} (both on the same btrfs file system). */
  static void apply(Path diff, Path target) throws IOException {
    List<Path> whiteouts = new ArrayList<>();
    Files.walkFileTree(
        diff,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs)
              throws IOException {
            if (dir.equals(diff)) {
              return FileVisitResult.CONTINUE;
            }
            Path there = target.resolve(diff.relativize(dir).toString());
            if (Files.exists(there, LinkOption.NOFOLLOW_LINKS)
                && !Files.isDirectory(there, LinkOption.NOFOLLOW_LINKS)) {
              Files.delete(there);
            } else if (isOpaque(dir) && Files.isDirectory(there, LinkOption.NOFOLLOW_LINKS)) {
              try (DirectoryStream<Path> hidden = Files.newDirectoryStream(there)) {
                for (Path p : hidden) {
                  Directories.deleteTree(p);
                }
              }
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Path rel = diff.relativize(file);
            Path there = target.resolve(rel.toString());
            Directories.deleteTree(there); // a file, link, or a directory this entry replaces
            if (isWhiteout(file)) {
              whiteouts.add(rel);
            }
            return FileVisitResult.CONTINUE;
          }
        });
    copy(diff, target);
    for (Path rel : whiteouts) {
      Files.deleteIfExists(target.resolve(rel.toString())); // cp copied the marker itself
    }
  }

  private static boolean isWhiteout(Path file) throws IOException {
    int mode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    long rdev = (Long) Files.getAttribute(file, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
    return (mode & S_IFMT) == Syscalls.S_IFCHR && rdev == 0;
  }

  private static boolean isOpaque(Path dir) {
    byte[] value = Syscalls.lgetxattrs(dir.toString()).get(OPAQUE);
    return value != null && new String(value, StandardCharsets.US_ASCII).equals("y");
  }

  private static void copy(Path diff, Path target) throws IOException {
    List<String> command =
        List.of(
            "cp",
            "-a",
            "--reflink=always",
            "--no-target-directory",
            diff.toString(),
            target.toString());
    Process cp = new ProcessBuilder(command).redirectErrorStream(true).start();
    cp.getOutputStream().close();
    String output = new String(cp.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!cp.waitFor(COPY_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        cp.destroyForcibly();
        throw CriException.internal(
            String.join(" ", command) + " did not finish in " + COPY_TIMEOUT_MINUTES + " minutes",
            null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      cp.destroyForcibly();
      throw new IOException("interrupted while applying " + diff, e);
    }
    if (cp.exitValue() != 0) {
      throw CriException.internal(
          "applying layer "
              + diff
              + " onto "
              + target
              + ": "
              + String.join(" ", command)
              + " exited "
              + cp.exitValue()
              + ": "
              + output.strip(),
          null);
    }
  }
}
