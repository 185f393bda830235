package io.spawnlet.cri.storage;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.MappedUserNamespace;
import io.spawnlet.cri.host.MountTable;
import io.spawnlet.cri.host.Syscalls;
import io.spawnlet.cri.store.Directories;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Container root filesystems on overlayfs:
 *
 * <pre>
 * root/containers/&lt;id&gt;/upper    the container's own writes
 * root/containers/&lt;id&gt;/work     overlayfs scratch
 * root/containers/&lt;id&gt;/merged   the rootfs (mount point)
 * root/containers/&lt;id&gt;/lower    user namespaced containers: root/layers, idmapped
 * root/l/&lt;16 hex&gt; → layer diff    short names for lower dirs
 * </pre>
 *
 * A container in a user namespace sees the shared layers through an idmapped bind mount of {@code
 * root/layers} (open_tree + mount_setattr, kernel 5.19+ for overlayfs on idmapped layers): files
 * stored as uid 0 show as the pod's mapped root, no file is copied or chowned, and the layers stay
 * one copy on disk. Its upper dir belongs to the mapped root, so what the container writes is
 * stored with the pod's host ids. The lower paths then name the layer directories inside that
 * mount, longer than the {@code l/} links, so such images are limited to ~20 layers.
 *
 * <p>The mount options must fit in one page (4096 bytes); with full layer paths (~110 bytes each)
 * that limits an image to ~35 layers. A short symlink per layer (as containers/storage's {@code
 * l/}) costs ~{@code len(root)+20} bytes per layer, enough for a hundred layers under a short root.
 */
public final class ContainerRootfs implements RootfsDriver {
  private static final Logger LOG = LoggerFactory.getLogger(ContainerRootfs.class);
  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,127}");
  private static final int MAX_MOUNT_DATA = 4095;

  private final Path containers;
  private final Path links;
  private final Path layers;

  public ContainerRootfs(Path root) {
    Path abs = root.toAbsolutePath().normalize();
    this.containers = abs.resolve("containers");
    this.links = abs.resolve("l");
    this.layers = abs.resolve("layers");
    try {
      Files.createDirectories(containers);
      Files.createDirectories(links);
    } catch (IOException e) {
      throw CriException.internal("cannot open container rootfs store " + abs + ": " + e, e);
    }
  }

  /**
   * Creates and mounts the rootfs of {@code containerId} over {@code lowerTopFirst} (the image's
   * layers, top layer first — the reverse of rootfs.diff_ids). Returns the merged dir. Calling it
   * again for a mounted container returns the same dir.
   */
  public Path create(String containerId, List<Layer> lowerTopFirst) {
    return create(containerId, lowerTopFirst, Optional.empty());
  }

  /**
   * As {@link #create(String, List)}, for a container in a user namespace with {@code userns}'s
   * mappings (empty: the host's): layers idmapped, upper dir owned by the mapped root.
   */
  @Override
  public Path create(
      String containerId, List<Layer> lowerTopFirst, Optional<UserNamespaceMapping> userns) {
    Path dir = containerDir(containerId);
    if (lowerTopFirst.isEmpty()) {
      throw CriException.invalid("image", "an image without layers cannot be a rootfs");
    }
    Path merged = dir.resolve("merged");
    if (mounted().contains(containerId)) {
      return merged;
    }
    try {
      Path upper = dir.resolve("upper");
      Path work = dir.resolve("work");
      Files.createDirectories(upper);
      Files.createDirectories(work);
      Files.createDirectories(merged);
      List<String> lower = new ArrayList<>();
      if (userns.isPresent()) {
        requireTraversable(merged);
        Path idmapped = idmappedLayers(dir, userns.get());
        Syscalls.lchown(upper.toString(), userns.get().rootUid(), userns.get().rootGid());
        for (Layer layer : lowerTopFirst) {
          lower.add(inside(idmapped, layer).toString());
        }
      } else {
        for (Layer layer : lowerTopFirst) {
          lower.add(linkFor(layer).toString());
        }
      }
      String data =
          "lowerdir=" + String.join(":", lower) + ",upperdir=" + upper + ",workdir=" + work;
      if (data.length() > MAX_MOUNT_DATA) {
        throw CriException.precondition(
            "overlay mount options for "
                + lowerTopFirst.size()
                + " layers are "
                + data.length()
                + " bytes, more than a page; use a shorter storage root");
      }
      Syscalls.mount("overlay", merged.toString(), "overlay", 0, data);
      LOG.debug("mounted rootfs of {} over {} layers", containerId, lowerTopFirst.size());
      return merged;
    } catch (IOException e) {
      throw CriException.internal("creating rootfs of container " + containerId + ": " + e, e);
    }
  }

  /** Unmounts the rootfs (and its idmapped layers); nothing happens if it is not mounted. */
  public void unmount(String containerId) {
    Path dir = containerDir(containerId);
    for (String mountPoint : List.of("merged", "lower")) {
      String path = dir.resolve(mountPoint).toString();
      while (Syscalls.umount(path, Syscalls.MNT_DETACH | Syscalls.UMOUNT_NOFOLLOW)) {
        // stacked mounts: take them all off
      }
    }
  }

  /** {@code root/layers} bound idmapped at {@code dir/lower} (kept if already there). */
  private Path idmappedLayers(Path dir, UserNamespaceMapping userns) throws IOException {
    Path lower = dir.resolve("lower");
    Files.createDirectories(lower);
    String prefix = lower + "/";
    boolean mounted =
        MountTable.readSelf().mounts().stream()
            .anyMatch(m -> (m.mountPoint() + "/").equals(prefix));
    if (!mounted) {
      try (MappedUserNamespace ns = MappedUserNamespace.create(userns.uidMap(), userns.gidMap())) {
        Syscalls.idmappedBind(layers.toString(), lower.toString(), ns.fd());
      }
    }
    return lower;
  }

  /**
   * The runtime mounts the rootfs from inside the user namespace, where host root's directories are
   * "other": every directory above {@code merged} must let others search it (x).
   */
  static void requireTraversable(Path merged) throws IOException {
    for (Path dir = merged.getParent(); dir != null; dir = dir.getParent()) {
      if (!Files.getPosixFilePermissions(dir).contains(PosixFilePermission.OTHERS_EXECUTE)) {
        throw CriException.precondition(
            "directory "
                + dir
                + " is not searchable by others (o+x): the root of a user-namespaced container"
                + " could not reach its rootfs "
                + merged
                + "; chmod o+x it (0711 keeps it unlistable)");
      }
    }
  }

  /** A layer's diff dir as seen through the idmapped mount of {@code root/layers}. */
  private Path inside(Path idmapped, Layer layer) {
    Path diff = layer.diff().toAbsolutePath().normalize();
    if (!diff.startsWith(layers)) {
      throw CriException.precondition(
          "layer " + layer.diffId() + " is at " + diff + ", outside the layer store " + layers);
    }
    return idmapped.resolve(layers.relativize(diff));
  }

  @Override
  public void remove(String containerId) {
    Path dir = containerDir(containerId);
    unmount(containerId);
    try {
      Directories.deleteTree(dir);
    } catch (IOException e) {
      throw CriException.internal("removing rootfs of container " + containerId + ": " + e, e);
    }
  }

  /** Ids of the containers whose rootfs is mounted now (from /proc/self/mountinfo). */
  public List<String> mounted() {
    List<String> result = new ArrayList<>();
    String prefix = containers + "/";
    for (MountTable.Mount m : MountTable.readSelf().mounts()) {
      String mountPoint = m.mountPoint();
      if (mountPoint.startsWith(prefix) && mountPoint.endsWith("/merged")) {
        String id = mountPoint.substring(prefix.length(), mountPoint.length() - "/merged".length());
        if (ID.matcher(id).matches() && !result.contains(id)) {
          result.add(id);
        }
      }
    }
    return result;
  }

  /** Ids of every container that has a directory here (mounted or not). */
  @Override
  public List<String> list() {
    return namesIn(containers);
  }

  /** The names of the entries of {@code dir} (a driver's per-container directories). */
  static List<String> namesIn(Path dir) {
    List<String> result = new ArrayList<>();
    try (var dirs = Files.newDirectoryStream(dir)) {
      dirs.forEach(d -> result.add(d.getFileName().toString()));
    } catch (IOException e) {
      throw CriException.internal("listing " + dir + ": " + e, e);
    }
    return result;
  }

  /** Bytes and inodes written by containers (their upper dirs), for ImageFsInfo. */
  @Override
  public FsUsage usage() {
    List<Path> uppers = new ArrayList<>();
    for (String id : list()) {
      uppers.add(containers.resolve(id).resolve("upper"));
    }
    return FsUsage.of(uppers.toArray(Path[]::new));
  }

  @Override
  public Path rootfsPath(String containerId) {
    return containerDir(containerId).resolve("merged");
  }

  /** The merged dir: host root's writes land in the upper dir, the layers stay untouched. */
  @Override
  public Path editableRoot(String containerId) {
    return rootfsPath(containerId);
  }

  @Override
  public WritableLayer writableLayer(String containerId) {
    Path upper = containerDir(containerId).resolve("upper");
    return new WritableLayer(upper, FsUsage.of(upper));
  }

  /** Nothing: overlayfs uses the layer store's dirs as they are. */
  @Override
  public FsUsage imageUsage() {
    return new FsUsage(0, 0);
  }

  @Override
  public void retainImages(List<Image> images) {
    // the layer store's dirs are all there is, and the image store deletes those
  }

  /** The directory of a container; the id is checked so that no path can leave the store. */
  public Path containerDir(String containerId) {
    return containers.resolve(requireValidId(containerId));
  }

  /** {@code containerId} if it is a valid id: one path element that cannot leave a store. */
  static String requireValidId(String containerId) {
    if (containerId == null || !ID.matcher(containerId).matches()) {
      throw CriException.invalid(
          "container_id",
          "\"" + containerId + "\" is not 1-128 characters of [a-z0-9_.-] starting with [a-z0-9]");
    }
    return containerId;
  }

  private Path linkFor(Layer layer) throws IOException {
    Path link = links.resolve(layer.diffId().hex().substring(0, 16));
    Path target = layer.diff().toAbsolutePath();
    try {
      Path existing = Files.readSymbolicLink(link);
      if (existing.equals(target)) {
        return link;
      }
      Files.delete(link); // stale (layer store moved) or a 64-bit prefix collision: repoint
    } catch (NoSuchFileException e) {
      // first container on this layer
    }
    try {
      Files.createSymbolicLink(link, target);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      if (!Files.readSymbolicLink(link).equals(target)) {
        throw e;
      }
    }
    if (!Files.isDirectory(link)) {
      throw CriException.precondition("layer " + layer.diffId() + " has no diff dir " + target);
    }
    return link;
  }
}
