package io.spawnlet.cri.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A btrfs file system on a sparse loop file, mounted for a test: {@code truncate} + {@code
 * mkfs.btrfs} + {@code mount -o loop} (the loop device auto-detaches on unmount). Close unmounts.
 */
final class BtrfsLoop implements AutoCloseable {
  private final Path mountPoint;

  private BtrfsLoop(Path mountPoint) {
    this.mountPoint = mountPoint;
  }

  /** Makes {@code dir}/btrfs.img of {@code size} (e.g. "512M") and mounts it at {@code dir}/mnt. */
  static BtrfsLoop create(Path dir, String size) throws Exception {
    Path image = dir.resolve("btrfs.img");
    Path mnt = dir.resolve("mnt");
    Files.createDirectories(mnt);
    BusyboxLayouts.run("truncate", "-s", size, image.toString());
    BusyboxLayouts.run("mkfs.btrfs", "-q", image.toString());
    BusyboxLayouts.run("mount", "-o", "loop", image.toString(), mnt.toString());
    return new BtrfsLoop(mnt);
  }

  Path mountPoint() {
    return mountPoint;
  }

  @Override
  public void close() throws IOException {
    try {
      BusyboxLayouts.run("umount", mountPoint.toString());
    } catch (Exception e) {
      throw new IOException("cannot unmount the test btrfs at " + mountPoint + ": " + e, e);
    }
  }
}
