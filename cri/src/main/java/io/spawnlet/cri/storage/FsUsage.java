package io.spawnlet.cri.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Set;

/** Disk used by a store: bytes (allocated blocks) and inodes, each inode counted once. */
public record FsUsage(long bytes, long inodes) {
  /** Walks {@code roots} without following symlinks; vanishing files are skipped. */
  public static FsUsage of(Path... roots) {
    long[] totals = new long[2];
    Set<Object> seen = new HashSet<>();
    for (Path root : roots) {
      if (!Files.isDirectory(root)) {
        continue;
      }
      try {
        Files.walkFileTree(
            root,
            new SimpleFileVisitor<>() {
              @Override
              public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                count(attrs);
                return FileVisitResult.CONTINUE;
              }

              @Override
              public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                count(attrs);
                return FileVisitResult.CONTINUE;
              }

              @Override
              public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE;
              }

              private void count(BasicFileAttributes attrs) {
                Object key = attrs.fileKey();
                if (key == null || seen.add(key)) {
                  totals[0] += attrs.size();
                  totals[1]++;
                }
              }
            });
      } catch (NoSuchFileException e) {
        // the store root went away while we walked: nothing to count there
      } catch (IOException e) {
        throw new UncheckedIOException("measuring disk usage of " + root, e);
      }
    }
    return new FsUsage(totals[0], totals[1]);
  }
}
