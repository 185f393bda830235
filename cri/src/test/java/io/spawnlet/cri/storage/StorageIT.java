package io.spawnlet.cri.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real umoci-made OCI layouts, real overlay mounts (root). */
class StorageIT {
  @TempDir Path tmp;
  private Path root;
  private LayerStore layers;
  private ImageStore images;
  private ImageImporter importer;
  private ContainerRootfs rootfs;
  private final List<String> containers = new ArrayList<>();

  @BeforeEach
  void open() {
    root = tmp.resolve("s");
    layers = new LayerStore(root);
    images = new ImageStore(root, layers);
    importer = new ImageImporter(images, root.resolve("tmp"));
    rootfs = new ContainerRootfs(root);
  }

  @AfterEach
  void cleanUp() throws IOException {
    for (String id : containers) {
      rootfs.remove(id);
    }
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(root.toString());
  }

  private String newContainer() {
    String id = "c" + UUID.randomUUID().toString().replace("-", "");
    containers.add(id);
    return id;
  }

  private List<Layer> lowerTopFirst(Image image) {
    return BusyboxLayouts.lowerTopFirst(layers, image);
  }

  private static void run(String... argv) throws Exception {
    BusyboxLayouts.run(argv);
  }

  /** An OCI layout with tag latest (busybox) and tag v2 (a second layer deleting bin/cat). */
  private Path busyboxLayout() throws Exception {
    return BusyboxLayouts.busybox(tmp, rootfs -> {}, rootfs -> {});
  }

  @Test
  void importedLayoutBacksTwoIsolatedContainersSharingOneLayer() throws Exception {
    Path layout = busyboxLayout();
    Image image = importer.importImage(layout + ":latest", "test/busybox:1");
    assertThat(image.repoTags()).containsExactly("docker.io/test/busybox:1");
    assertThat(image.repoDigests())
        .singleElement()
        .asString()
        .startsWith("docker.io/test/busybox@sha256:");
    assertThat(images.find("test/busybox:1")).contains(image);
    assertThat(images.find(image.id().substring(0, 8))).contains(image);
    assertThat(images.find(image.digestId())).contains(image);

    List<Layer> lower = lowerTopFirst(image);
    String c1 = newContainer();
    String c2 = newContainer();
    Path m1 = rootfs.create(c1, lower);
    Path m2 = rootfs.create(c2, lower);
    assertThat(rootfs.mounted()).contains(c1, c2);

    Files.writeString(m1.resolve("written"), "only in c1");
    Files.writeString(m1.resolve("bin/busybox-copy"), "x");
    assertThat(Files.exists(m2.resolve("written"))).isFalse();
    Path layerFile = lower.get(0).diff().resolve("bin/busybox");
    assertThat(Files.exists(lower.get(0).diff().resolve("written"))).isFalse();
    Object ino = Files.getAttribute(layerFile, "unix:ino");
    assertThat(Files.getAttribute(m1.resolve("bin/busybox"), "unix:ino")).isEqualTo(ino);
    assertThat(Files.getAttribute(m2.resolve("bin/busybox"), "unix:ino")).isEqualTo(ino);
    assertThat(rootfs.usage().inodes()).isPositive();
    assertThat(images.usage().bytes()).isGreaterThan(Files.size(layerFile));

    assertThatThrownBy(() -> images.remove(image.id(), id -> id.equals(image.id())))
        .isInstanceOf(CriException.class)
        .extracting(e -> ((CriException) e).kind())
        .isEqualTo(CriException.Kind.FAILED_PRECONDITION);
    rootfs.remove(c1);
    rootfs.remove(c2);
    rootfs.remove(c2); // idempotent
    assertThat(rootfs.mounted()).doesNotContain(c1, c2);
    assertThat(images.remove("docker.io/test/busybox:1", id -> false)).isTrue();
    // the last tag gone, the image goes too (its repo digest with it), as in containerd
    assertThat(images.find(image.id())).isEmpty();
    assertThat(images.remove(image.id(), id -> false)).isFalse();
    assertThat(images.list()).isEmpty();
    assertThat(layers.list()).isEmpty();
  }

  @Test
  void userNamespacedContainerSeesTheSharedLayerIdmappedWithoutACopy() throws Exception {
    Image image = importer.importImage(busyboxLayout() + ":latest", "test/busybox:idmap");
    List<Layer> lower = lowerTopFirst(image);
    long base = 5L << 20;
    var userns = io.spawnlet.cri.store.UserNamespaceMapping.ofRange(base, 65536);
    String c1 = newContainer();
    String plain = newContainer();

    // the container's root must be able to reach its rootfs: a 0700 ancestor is refused
    Files.setPosixFilePermissions(
        tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    assertThatThrownBy(() -> rootfs.create(c1, lower, java.util.Optional.of(userns)))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("directory " + tmp + " is not searchable by others");
    Files.setPosixFilePermissions(
        tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));

    Path m1 = rootfs.create(c1, lower, java.util.Optional.of(userns));
    Path m2 = rootfs.create(plain, lower);
    assertThat(rootfs.create(c1, lower, java.util.Optional.of(userns))).isEqualTo(m1);

    Path layerFile = lower.get(0).diff().resolve("bin/busybox");
    assertThat(Files.getAttribute(layerFile, "unix:uid")).as("on disk").isEqualTo(0);
    assertThat(Files.getAttribute(m1.resolve("bin/busybox"), "unix:uid")).isEqualTo((int) base);
    assertThat(Files.getAttribute(m1.resolve("bin/busybox"), "unix:gid")).isEqualTo((int) base);
    assertThat(Files.getAttribute(m2.resolve("bin/busybox"), "unix:uid")).isEqualTo(0);
    // one copy: the idmapped view is the layer's inode, as the plain one
    Object ino = Files.getAttribute(layerFile, "unix:ino");
    assertThat(Files.getAttribute(m1.resolve("bin/busybox"), "unix:ino")).isEqualTo(ino);
    assertThat(Files.getAttribute(m2.resolve("bin/busybox"), "unix:ino")).isEqualTo(ino);
    Path upper = rootfs.containerDir(c1).resolve("upper");
    assertThat(Files.getAttribute(upper, "unix:uid")).isEqualTo((int) base);
    assertThat(Files.getAttribute(m1, "unix:uid")).as("the container's /").isEqualTo((int) base);
    // a copy-up keeps the mapped owner in the upper dir; the layer is untouched
    Files.writeString(m1.resolve("bin/busybox"), "changed");
    assertThat(Files.getAttribute(upper.resolve("bin/busybox"), "unix:uid")).isEqualTo((int) base);
    assertThat(Files.size(layerFile)).isGreaterThan(1000);

    rootfs.remove(c1);
    assertThat(Files.readString(Path.of("/proc/self/mountinfo")))
        .doesNotContain(rootfs.containerDir(c1).toString());
  }

  @Test
  void whiteoutInUpperLayerHidesFileAndLayersAreShared() throws Exception {
    Path layout = busyboxLayout();
    Image v1 = importer.importImage(layout + ":latest", "bb:v1");
    Image v2 = importer.importImage(layout + ":v2", "bb:v2");
    assertThat(v2.diffIds()).hasSize(2).startsWith(v1.diffIds().get(0));
    String c = newContainer();
    Path merged = rootfs.create(c, lowerTopFirst(v2));
    assertThat(Files.exists(merged.resolve("bin/cat"), LinkOption.NOFOLLOW_LINKS)).isFalse();
    assertThat(Files.readString(merged.resolve("added"))).isEqualTo("v2\n");
    assertThat(Files.exists(merged.resolve("bin/ls"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    rootfs.remove(c);
    images.remove(v2.digestId(), id -> false);
    // the shared bottom layer stays for v1
    assertThat(layers.list())
        .extracting(l -> l.diffId().toString())
        .containsExactly(v1.diffIds().get(0));
    // re-tagging moves the tag
    Image again = importer.importImage(layout + ":v2", "bb:v1");
    assertThat(again.repoTags()).contains("docker.io/library/bb:v1");
    assertThat(images.find(v1.id()).orElseThrow().repoTags()).isEmpty();
  }

  @Test
  void importsRootfsDirectoryAndTarball() throws Exception {
    Path dir = tmp.resolve("rootfs");
    Files.createDirectories(dir.resolve("bin"));
    Files.createDirectories(dir.resolve("sbin"));
    Files.copy(Path.of("/bin/busybox"), dir.resolve("bin/busybox"));
    Files.createSymbolicLink(dir.resolve("bin/sh"), Path.of("busybox"));
    Files.createSymbolicLink(dir.resolve("sbin/init"), Path.of("/bin/busybox"));
    Files.createLink(dir.resolve("bin/hard"), dir.resolve("bin/busybox"));
    Image fromDir = importer.importImage(dir.toString(), "local/rootfs-dir");
    assertThat(fromDir.config().cmd()).containsExactly("/sbin/init");
    Layer layer = layers.get(Digest.parse("d", fromDir.diffIds().get(0))).orElseThrow();
    assertThat(Files.getAttribute(layer.diff().resolve("bin/hard"), "unix:ino"))
        .isEqualTo(Files.getAttribute(layer.diff().resolve("bin/busybox"), "unix:ino"));

    Path tgz = tmp.resolve("rootfs.tar.gz");
    Files.delete(dir.resolve("sbin/init"));
    run("tar", "-C", dir.toString(), "-czf", tgz.toString(), ".");
    Image fromTar = importer.importImage(tgz.toString(), "local/rootfs-tar:1");
    assertThat(fromTar.config().cmd()).containsExactly("/bin/sh");
    String c = newContainer();
    Path merged = rootfs.create(c, lowerTopFirst(fromTar));
    assertThat(Files.isExecutable(merged.resolve("bin/busybox"))).isTrue();
  }

  @Test
  void fiftyLayersMount() throws Exception {
    List<Layer> lower = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      byte[] tar = new TarBuilder().file("f" + i, "layer " + i).file("top", "" + i).build();
      lower.add(
          0,
          layers.ensureLayer(
              new ByteArrayInputStream(tar), Compression.NONE, Optional.empty(), Optional.empty()));
    }
    String c = newContainer();
    Path merged = rootfs.create(c, lower);
    assertThat(Files.readString(merged.resolve("top"))).isEqualTo("49");
    assertThat(Files.readString(merged.resolve("f0"))).isEqualTo("layer 0");
  }

  @Test
  void hostileContainerIdIsRefused() {
    assertThatThrownBy(() -> rootfs.create("../../etc", List.of()))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("container_id");
  }
}
