package io.spawnlet.cri.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes files so that a crash at any moment leaves either the old or the new content: temp file in
 * the same directory, fsync, rename over the target, fsync of the directory.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  public static void write(Path target, byte[] content) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = temporaryBeside(dir, target);
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    syncDirectory(dir);
  }

  /**
   * The first half of {@link #write}: the content under its final name (readers see all or
   * nothing), not yet durable; {@link #sync} makes it so. For a file a program reads at once while
   * the fsync runs beside it.
   */
  public static void writeUnsynced(Path target, byte[] content) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = temporaryBeside(dir, target);
    Files.write(tmp, content);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Makes a file written by {@link #writeUnsynced} durable: fsync of it, then of its directory. */
  public static void sync(Path target) throws IOException {
    try (FileChannel ch = FileChannel.open(target, StandardOpenOption.READ)) {
      ch.force(true);
    }
    syncDirectory(target.toAbsolutePath().getParent());
  }

  /** A name in {@code dir} no other writer (process, thread) uses at the same time. */
  private static Path temporaryBeside(Path dir, Path target) {
    return dir.resolve(
        "."
            + target.getFileName()
            + ".tmp-"
            + ProcessHandle.current().pid()
            + "-"
            + Thread.currentThread().threadId());
  }

  private static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
