package io.spawnlet.cri.storage;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.BtrfsSubvolumes;
import io.spawnlet.cri.host.Syscalls;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/** The daemon config's {@code storageDriver}: how container root filesystems are made. */
public enum StorageDriver {
  /** overlayfs over the unpacked layers, a private upper dir per container (the default). */
  OVERLAY,
  /** btrfs: one subvolume per layer chain, a writable snapshot per container. */
  BTRFS;

  /** {@code overlay} (also when absent) or {@code btrfs}. */
  public static StorageDriver parse(Optional<String> name) {
    if (name.isEmpty() || name.get().isBlank()) {
      return OVERLAY;
    }
    return switch (name.get().strip().toLowerCase(Locale.ROOT)) {
      case "overlay", "overlayfs" -> OVERLAY;
      case "btrfs" -> BTRFS;
      default ->
          throw CriException.invalid(
              "storageDriver",
              "\"" + name.get() + "\" is not a storage driver; use overlay (the default) or btrfs");
    };
  }

  /**
   * Opens this driver over {@code storageRoot} (which must exist). btrfs is refused unless the root
   * is on a btrfs file system: snapshots cannot be made anywhere else.
   */
  public RootfsDriver open(Path storageRoot) {
    return switch (this) {
      case OVERLAY -> new ContainerRootfs(storageRoot);
      case BTRFS -> {
        requireBtrfs(storageRoot);
        yield new BtrfsRootfs(storageRoot);
      }
    };
  }

  static void requireBtrfs(Path storageRoot) {
    long type = Syscalls.statfsType(storageRoot.toString());
    if (type != BtrfsSubvolumes.BTRFS_SUPER_MAGIC) {
      throw CriException.precondition(
          "storageDriver btrfs needs the storage directory "
              + storageRoot
              + " on a btrfs file system, but it is on one of type 0x"
              + Long.toHexString(type)
              + " (btrfs is 0x9123683e); put the daemon's root on btrfs or set storageDriver:"
              + " overlay");
    }
  }
}
