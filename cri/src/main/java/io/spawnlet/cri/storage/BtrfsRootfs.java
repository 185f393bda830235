package io.spawnlet.cri.storage;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.BtrfsSubvolumes;
import io.spawnlet.cri.host.MappedUserNamespace;
import io.spawnlet.cri.host.MountTable;
import io.spawnlet.cri.host.Syscalls;
import io.spawnlet.cri.store.Directories;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Container root filesystems as btrfs snapshots (the {@code btrfs} storage driver):
 *
 * <pre>
 * root/btrfs/containers/&lt;id&gt;/rootfs    writable snapshot of the image's top layer chain
 * root/btrfs/containers/&lt;id&gt;/merged    user namespaced containers: rootfs, idmapped
 * root/btrfs/containers/&lt;id&gt;/created   marks when the snapshot was taken (its mtime)
 * </pre>
 *
 * The snapshot shares every extent with the image's layer subvolume ({@link LayerChains}) until the
 * container writes, so N containers of one image hold one copy of its files. A container in a user
 * namespace gets the snapshot through an idmapped bind mount: its files stay owned by 0 on disk and
 * show as the pod's mapped root, and what the container writes through the mount is stored with the
 * ids it has inside (0 for its root) — the mount maps them back. Host root cannot create files
 * through such a mount (0 is not in the pod's range), so spawnlet's own writes go to the snapshot
 * directly ({@link #editableRoot}).
 */
public final class BtrfsRootfs implements RootfsDriver {
  private static final Logger LOG = LoggerFactory.getLogger(BtrfsRootfs.class);

  private final Path containers;
  private final LayerChains chains;

  BtrfsRootfs(Path root) {
    Path abs = root.toAbsolutePath().normalize();
    this.containers = abs.resolve("btrfs").resolve("containers");
    this.chains = new LayerChains(abs);
    try {
      Files.createDirectories(containers);
    } catch (IOException e) {
      throw CriException.internal("cannot open btrfs container store " + containers + ": " + e, e);
    }
  }

  @Override
  public Path create(
      String containerId, List<Layer> lowerTopFirst, Optional<UserNamespaceMapping> userns) {
    Path dir = containerDir(containerId);
    if (lowerTopFirst.isEmpty()) {
      throw CriException.invalid("image", "an image without layers cannot be a rootfs");
    }
    Path snapshot = dir.resolve("rootfs");
    Path merged = dir.resolve("merged");
    try {
      if (!Files.isDirectory(snapshot, LinkOption.NOFOLLOW_LINKS)) {
        List<Layer> bottomFirst = new ArrayList<>(lowerTopFirst);
        Collections.reverse(bottomFirst);
        Path top = chains.ensure(bottomFirst);
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve("created"));
        Files.createFile(dir.resolve("created"));
        BtrfsSubvolumes.snapshot(top, snapshot, false);
        LOG.debug("snapshot {} of {} for container {}", snapshot, top, containerId);
      }
      if (userns.isEmpty()) {
        return snapshot;
      }
      Files.createDirectories(merged);
      ContainerRootfs.requireTraversable(merged);
      if (!isMountPoint(merged)) {
        try (MappedUserNamespace ns =
            MappedUserNamespace.create(userns.get().uidMap(), userns.get().gidMap())) {
          Syscalls.idmappedBind(snapshot.toString(), merged.toString(), ns.fd());
        }
      }
      return merged;
    } catch (IOException e) {
      throw CriException.internal("creating rootfs of container " + containerId + ": " + e, e);
    }
  }

  private static boolean isMountPoint(Path dir) {
    String path = dir.toString();
    return MountTable.readSelf().mounts().stream().anyMatch(m -> m.mountPoint().equals(path));
  }

  @Override
  public Path rootfsPath(String containerId) {
    Path dir = containerDir(containerId);
    Path merged = dir.resolve("merged");
    return Files.isDirectory(merged) ? merged : dir.resolve("rootfs");
  }

  @Override
  public Path editableRoot(String containerId) {
    return containerDir(containerId).resolve("rootfs");
  }

  @Override
  public void remove(String containerId) {
    Path dir = containerDir(containerId);
    String merged = dir.resolve("merged").toString();
    while (Syscalls.umount(merged, Syscalls.MNT_DETACH | Syscalls.UMOUNT_NOFOLLOW)) {
      // stacked mounts: take them all off
    }
    try {
      BtrfsSubvolumes.delete(dir.resolve("rootfs"));
      Directories.deleteTree(dir);
    } catch (IOException e) {
      throw CriException.internal("removing rootfs of container " + containerId + ": " + e, e);
    }
  }

  @Override
  public List<String> list() {
    return ContainerRootfs.namesIn(containers);
  }

  @Override
  public FsUsage usage() {
    long bytes = 0;
    long inodes = 0;
    for (String id : list()) {
      FsUsage u = writableLayer(id).usage();
      bytes += u.bytes();
      inodes += u.inodes();
    }
    return new FsUsage(bytes, inodes);
  }

  /**
   * The files the container changed: those of its snapshot whose inode changed (ctime) after the
   * snapshot was taken. Unchanged files are the image's, shared with its layer subvolume.
   */
  @Override
  public WritableLayer writableLayer(String containerId) {
    Path dir = containerDir(containerId);
    Path snapshot = dir.resolve("rootfs");
    long[] totals = new long[2];
    try {
      FileTime taken = Files.getLastModifiedTime(dir.resolve("created"));
      Files.walkFileTree(
          snapshot,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs)
                throws IOException {
              count(d, attrs);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              count(file, attrs);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
              return FileVisitResult.CONTINUE;
            }

            private void count(Path p, BasicFileAttributes attrs) throws IOException {
              FileTime changed =
                  (FileTime) Files.getAttribute(p, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
              if (changed.compareTo(taken) >= 0) {
                totals[0] += attrs.size();
                totals[1]++;
              }
            }
          });
    } catch (java.nio.file.NoSuchFileException e) {
      // not created yet, or removed meanwhile: nothing written
    } catch (IOException e) {
      throw new UncheckedIOException("measuring the writes of container " + containerId, e);
    }
    return new WritableLayer(snapshot, new FsUsage(totals[0], totals[1]));
  }

  @Override
  public FsUsage imageUsage() {
    return chains.usage();
  }

  @Override
  public void retainImages(List<Image> images) {
    chains.retain(images);
  }

  private Path containerDir(String containerId) {
    return containers.resolve(ContainerRootfs.requireValidId(containerId));
  }
}
