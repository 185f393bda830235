package io.spawnlet.cri.sandbox;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * A pod's {@code /etc/machine-id}: 128 random bits as 32 lower-case hex digits, made the first time
 * a container of the pod needs it and kept in the sandbox's state directory, so every container
 * (and every restart) of the pod sees the same machine, and no two pods share one. Random rather
 * than derived from the sandbox id: the machine id is meant to be unguessable from public names.
 */
public final class MachineId {
  private static final SecureRandom RANDOM = new SecureRandom();

  private MachineId() {}

  /**
   * Writes the pod's machine id into {@code rootfs/etc/machine-id} (on overlayfs: into the
   * container's upper directory; the image's layers stay untouched). The image controls the tree,
   * so nothing here follows a symbolic link out of it: a link at {@code /etc} is refused, a link at
   * {@code /etc/machine-id} is replaced.
   */
  public static void install(Path podMachineId, Path rootfs) {
    Path etc = rootfs.resolve("etc");
    Path target = etc.resolve("machine-id");
    try {
      if (!Files.isDirectory(etc, LinkOption.NOFOLLOW_LINKS)) {
        throw CriException.precondition(
            "the image's /etc is not a directory (a symbolic link?): a system container needs a"
                + " real /etc for its machine id");
      }
      Files.deleteIfExists(target);
      Files.write(target, Files.readAllBytes(podMachineId), StandardOpenOption.CREATE_NEW);
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("r--r--r--"));
    } catch (IOException e) {
      throw CriException.internal("writing " + target + ": " + e.getMessage(), e);
    }
  }

  /** Returns {@code file}, writing a fresh machine id into it if it does not exist yet. */
  public static Path ensure(Path file) {
    if (Files.exists(file)) {
      return file;
    }
    byte[] bits = new byte[16];
    RANDOM.nextBytes(bits);
    String id = HexFormat.of().formatHex(bits) + "\n";
    try {
      AtomicFiles.write(file, id.getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      throw CriException.internal(
          "writing the pod's machine id " + file + ": " + e.getMessage(), e);
    }
    return file;
  }
}
