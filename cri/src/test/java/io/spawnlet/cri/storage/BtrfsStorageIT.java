package io.spawnlet.cri.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.cri.host.BtrfsSubvolumes;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The btrfs storage driver on a real btrfs (a loop file), with umoci-made images (root). */
class BtrfsStorageIT {
  @TempDir Path tmp;
  private BtrfsLoop btrfs;
  private Path root;
  private LayerStore layers;
  private ImageStore images;
  private ImageImporter importer;
  private BtrfsRootfs rootfs;
  private final List<String> containers = new ArrayList<>();

  @BeforeEach
  void open() throws Exception {
    // a user-namespaced container's root must reach its rootfs: o+x on every ancestor
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
    btrfs = BtrfsLoop.create(tmp, "512M");
    root = btrfs.mountPoint().resolve("storage");
    Files.createDirectories(root);
    layers = new LayerStore(root);
    images = new ImageStore(root, layers);
    importer = new ImageImporter(images, root.resolve("tmp"));
    rootfs = (BtrfsRootfs) StorageDriver.BTRFS.open(root);
  }

  @AfterEach
  void cleanUp() throws Exception {
    try {
      for (String id : containers) {
        rootfs.remove(id);
      }
    } finally {
      btrfs.close();
    }
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(tmp.toString());
  }

  private String newContainer() {
    String id = "c" + UUID.randomUUID().toString().replace("-", "");
    containers.add(id);
    return id;
  }

  private List<Layer> lowerTopFirst(Image image) {
    return BusyboxLayouts.lowerTopFirst(layers, image);
  }

  /** busybox (latest) and v2, whose layer also empties and refills etc/gone (an opaque dir). */
  private Path busyboxLayout() throws Exception {
    return BusyboxLayouts.busybox(
        tmp,
        rootfs -> {
          Files.createDirectories(rootfs.resolve("etc/gone"));
          Files.writeString(rootfs.resolve("etc/gone/file"), "hidden by v2\n");
        },
        rootfs -> {
          Files.delete(rootfs.resolve("etc/gone/file"));
          Files.writeString(rootfs.resolve("etc/gone/new"), "v2\n");
        });
  }

  /** The physical offsets of a file's extents (FIEMAP through filefrag), and their flags. */
  private static List<String> extents(Path file) throws Exception {
    List<String> result = new ArrayList<>();
    for (String line : BusyboxLayouts.run("filefrag", "-v", file.toString()).split("\n")) {
      String[] cols = line.strip().split(":\\s*");
      if (cols.length >= 4 && cols[0].matches("\\d+")) {
        result.add(cols[2].strip());
      }
    }
    return result;
  }

  private Path chainsDir() {
    return root.resolve("btrfs/layers");
  }

  @Test
  void containersAreSnapshotsSharingTheExtentsOfTheImagesLayerSubvolume() throws Exception {
    Path layout = busyboxLayout();
    Image v1 = importer.importImage(layout + ":latest", "bb:v1");
    Image v2 = importer.importImage(layout + ":v2", "bb:v2");
    String c1 = newContainer();
    String c2 = newContainer();
    Path r1 = rootfs.create(c1, lowerTopFirst(v2), Optional.empty());
    Path r2 = rootfs.create(c2, lowerTopFirst(v2), Optional.empty());
    assertThat(rootfs.create(c1, lowerTopFirst(v2), Optional.empty())).isEqualTo(r1);

    // layer 2 applied on layer 1: the whiteout deleted, the opaque dir emptied, the new file there
    assertThat(Files.exists(r1.resolve("bin/cat"), LinkOption.NOFOLLOW_LINKS)).isFalse();
    assertThat(Files.exists(r1.resolve("bin/ls"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    assertThat(Files.readString(r1.resolve("added"))).isEqualTo("v2\n");
    assertThat(Files.exists(r1.resolve("etc/gone/file"))).isFalse();
    assertThat(Files.readString(r1.resolve("etc/gone/new"))).isEqualTo("v2\n");
    try (var s = Files.list(r1.resolve("bin"))) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .containsOnly("busybox", "sh", "ls", "echo");
    }

    // one subvolume per layer chain; each container a snapshot (a subvolume of its own)
    List<String> chainIds = LayerChains.chainIds(v2.diffIds());
    Path top = chainsDir().resolve(chainIds.get(1));
    assertThat(BtrfsSubvolumes.isSubvolume(chainsDir().resolve(chainIds.get(0)))).isTrue();
    assertThat(BtrfsSubvolumes.isSubvolume(top)).isTrue();
    assertThat(BtrfsSubvolumes.isSubvolume(r1)).isTrue();
    assertThat(BtrfsSubvolumes.isSubvolume(r2)).isTrue();
    assertThat(Files.getAttribute(r1, "unix:dev"))
        .isNotEqualTo(Files.getAttribute(top, "unix:dev"));

    // the same extents on disk: the layer store's file, the layer subvolume's, both containers'
    List<String> layerExtents = extents(lowerTopFirst(v1).get(0).diff().resolve("bin/busybox"));
    assertThat(layerExtents).isNotEmpty();
    assertThat(extents(top.resolve("bin/busybox"))).isEqualTo(layerExtents);
    assertThat(extents(r1.resolve("bin/busybox"))).isEqualTo(layerExtents);
    assertThat(extents(r2.resolve("bin/busybox"))).isEqualTo(layerExtents);
    assertThat(BusyboxLayouts.run("filefrag", "-v", r1.resolve("bin/busybox").toString()))
        .contains("shared");

    // writes stay in their container
    Files.writeString(r1.resolve("written"), "only in c1");
    assertThat(Files.exists(r2.resolve("written"))).isFalse();
    assertThat(Files.exists(top.resolve("written"))).isFalse();
    assertThat(rootfs.writableLayer(c1).usage().bytes()).isGreaterThanOrEqualTo(10);
    assertThat(rootfs.writableLayer(c1).usage().bytes())
        .isLessThan(Files.size(r1.resolve("bin/busybox")));
    assertThat(rootfs.imageUsage().inodes()).isPositive();

    // a restart sees both; removal deletes the snapshot
    assertThat(new BtrfsRootfs(root).list()).contains(c1, c2);
    rootfs.remove(c1);
    rootfs.remove(c1); // idempotent
    assertThat(r1.getParent()).doesNotExist();
    assertThat(rootfs.list()).doesNotContain(c1).contains(c2);

    // removing v2 drops its top chain, v1's (its bottom) stays
    rootfs.remove(c2);
    assertThat(images.remove("bb:v2", id -> false)).isTrue();
    rootfs.retainImages(images.list());
    assertThat(top).doesNotExist();
    assertThat(chainsDir().resolve(chainIds.get(0))).isDirectory();
    images.remove("bb:v1", id -> false);
    rootfs.retainImages(images.list());
    try (var s = Files.list(chainsDir())) {
      assertThat(s).isEmpty();
    }
  }

  @Test
  void userNamespacedContainerGetsItsSnapshotIdmappedAndWritesThroughIt() throws Exception {
    Image image = importer.importImage(busyboxLayout() + ":latest", "bb:userns");
    long base = 6L << 20;
    UserNamespaceMapping userns = UserNamespaceMapping.ofRange(base, 65536);
    String c = newContainer();
    Path merged = rootfs.create(c, lowerTopFirst(image), Optional.of(userns));
    assertThat(rootfs.create(c, lowerTopFirst(image), Optional.of(userns))).isEqualTo(merged);
    assertThat(rootfs.rootfsPath(c)).isEqualTo(merged);
    Path snapshot = rootfs.editableRoot(c);
    assertThat(merged).isNotEqualTo(snapshot);

    // the snapshot's files stay 0 on disk and show as the pod's root through the mount
    assertThat(Files.getAttribute(snapshot.resolve("bin/busybox"), "unix:uid")).isEqualTo(0);
    assertThat(Files.getAttribute(merged.resolve("bin/busybox"), "unix:uid")).isEqualTo((int) base);
    assertThat(Files.getAttribute(merged, "unix:gid")).isEqualTo((int) base);

    // the pod's root (host uid base) writes through the idmapped mount: it owns what it made
    // as seen through the mount; on disk the mount stored it unmapped (0)
    BusyboxLayouts.run(
        "setpriv",
        "--reuid=" + base,
        "--regid=" + base,
        "--clear-groups",
        "sh",
        "-c",
        "echo inside > " + merged.resolve("written") + " && mkdir " + merged.resolve("d"));
    assertThat(Files.getAttribute(merged.resolve("written"), "unix:uid")).isEqualTo((int) base);
    assertThat(Files.getAttribute(snapshot.resolve("written"), "unix:uid")).isEqualTo(0);
    assertThat(Files.readString(snapshot.resolve("written"))).isEqualTo("inside\n");
    Path top = chainsDir().resolve(LayerChains.chainIds(image.diffIds()).get(0));
    assertThat(Files.exists(top.resolve("written"))).isFalse();

    rootfs.remove(c);
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(merged.toString());
    assertThat(merged.getParent()).doesNotExist();
  }

  @Test
  void unfinishedLayerOfADeadProcessIsDeletedAtOpen() throws Exception {
    Path stale = chainsDir().resolve(".tmp-999999999-x");
    BtrfsSubvolumes.create(stale);
    Files.writeString(stale.resolve("half"), "x");
    new BtrfsRootfs(root);
    assertThat(stale).doesNotExist();
  }
}
