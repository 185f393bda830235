package io.spawnlet.cri.storage;

import io.spawnlet.cri.store.UserNamespaceMapping;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * How container root filesystems are made from image layers: {@link ContainerRootfs} (overlayfs,
 * the default) or {@link BtrfsRootfs} (a btrfs snapshot per container). Picked by the daemon
 * config's {@code storageDriver} ({@link StorageDriver}).
 */
public interface RootfsDriver {
  /**
   * Makes and mounts the rootfs of {@code containerId} from {@code lowerTopFirst} (the image's
   * layers, top first), for a container in a user namespace with {@code userns}'s mappings when
   * given. Returns the directory the runtime uses as the root; again for an existing container.
   */
  Path create(String containerId, List<Layer> lowerTopFirst, Optional<UserNamespaceMapping> userns);

  /** The directory the runtime uses as the container's root. */
  Path rootfsPath(String containerId);

  /**
   * Where spawnlet itself writes files into the container's tree (its machine id) as host root; not
   * necessarily the runtime's view (an idmapped mount refuses writes by unmapped ids).
   */
  Path editableRoot(String containerId);

  /** Unmounts and deletes everything of the container; safe on a half-created or missing one. */
  void remove(String containerId);

  /** Ids of every container that has a rootfs here. */
  List<String> list();

  /** Bytes and inodes written by all containers (ImageFsInfo's container file system). */
  FsUsage usage();

  /** The container's writable layer: where it is and what it holds (ContainerStats). */
  WritableLayer writableLayer(String containerId);

  /** Disk the driver keeps for images beyond the layer store (ImageFsInfo's image file system). */
  FsUsage imageUsage();

  /** Drops what the driver keeps for images that are no longer in {@code images}. */
  void retainImages(List<Image> images);

  /** A container's own writes: the directory to name and their usage. */
  record WritableLayer(Path dir, FsUsage usage) {}
}
