package io.spawnlet.cri.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.Syscalls;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unpacking needs root (ownership, device nodes, trusted.* xattrs): tests run as root here. */
class LayerStoreTest {
  @TempDir Path tmp;

  private LayerStore store() {
    return new LayerStore(tmp.resolve("store"));
  }

  private static Layer ensure(LayerStore store, byte[] tar) {
    return store.ensureLayer(
        new ByteArrayInputStream(tar), Compression.NONE, Optional.empty(), Optional.empty());
  }

  @Test
  void unpacksFilesLinksFifosAndMetadata() throws IOException {
    byte[] tar =
        new TarBuilder()
            .dir("etc/")
            .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 04755, 1000, 1001)
            .hardlink("etc/passwd2", "etc/passwd")
            .symlink("etc/link", "/etc/passwd")
            .fifo("etc/fifo")
            .xattr("etc/x", "user.note", "hello")
            .build();
    LayerStore store = store();
    Layer layer = ensure(store, tar);
    Path diff = layer.diff();
    assertThat(layer.diffId()).isEqualTo(Digest.of(tar));
    assertThat(Files.readString(diff.resolve("etc/passwd"))).startsWith("root:x");
    Map<String, Object> unix = Files.readAttributes(diff.resolve("etc/passwd"), "unix:*");
    assertThat((Integer) unix.get("mode") & 07777).isEqualTo(04755);
    assertThat(unix.get("uid")).isEqualTo(1000);
    assertThat(unix.get("gid")).isEqualTo(1001);
    assertThat(Files.readAttributes(diff.resolve("etc/passwd2"), "unix:ino").get("ino"))
        .isEqualTo(unix.get("ino"));
    assertThat(Files.readSymbolicLink(diff.resolve("etc/link"))).isEqualTo(Path.of("/etc/passwd"));
    assertThat(
            Files.readAttributes(diff.resolve("etc/fifo"), "unix:mode", LinkOption.NOFOLLOW_LINKS)
                .get("mode"))
        .isEqualTo(Syscalls.S_IFIFO | 0600);
    assertThat(Syscalls.lgetxattrs(diff.resolve("etc/x").toString())).containsKey("user.note");
    assertThat(store.get(layer.diffId())).contains(layer);
  }

  @Test
  void convertsWhiteoutsToOverlayForm() throws IOException {
    byte[] tar =
        new TarBuilder().dir("a/").file("a/.wh.gone", "").file("b/.wh..wh..opq", "").build();
    Layer layer = ensure(store(), tar);
    Path whiteout = layer.diff().resolve("a/gone");
    Map<String, Object> unix =
        Files.readAttributes(whiteout, "unix:mode,rdev", LinkOption.NOFOLLOW_LINKS);
    assertThat((Integer) unix.get("mode") & 0170000).isEqualTo(Syscalls.S_IFCHR);
    assertThat(unix.get("rdev")).isEqualTo(0L);
    assertThat(Files.exists(layer.diff().resolve("a/.wh.gone"), LinkOption.NOFOLLOW_LINKS))
        .isFalse();
    assertThat(Syscalls.lgetxattrs(layer.diff().resolve("b").toString()))
        .containsKey("trusted.overlay.opaque");
    assertThat(
            new String(
                Syscalls.lgetxattrs(layer.diff().resolve("b").toString())
                    .get("trusted.overlay.opaque")))
        .isEqualTo("y");
    assertThat(Files.exists(layer.diff().resolve("b/.wh..wh..opq"), LinkOption.NOFOLLOW_LINKS))
        .isFalse();
  }

  @Test
  void refusesEntriesLeavingTheLayer() throws IOException {
    Path outside = tmp.resolve("outside");
    Files.createDirectory(outside);
    byte[][] hostile = {
      new TarBuilder().file("../x", "pwned").build(),
      new TarBuilder().file("a/../../x", "pwned").build(),
      new TarBuilder().file("/etc/x-spawnlet-test", "pwned").build(),
      new TarBuilder().symlink("a", outside.toString()).file("a/pwn", "pwned").build(),
      new TarBuilder().dir("d/").symlink("d/up", "../../../..").file("d/up/pwn", "pwned").build(),
      new TarBuilder().hardlink("passwd", "/etc/passwd").build(),
      new TarBuilder().hardlink("passwd", "../../../../etc/passwd").build(),
      new TarBuilder().symlink("s", "/etc").hardlink("p", "s/passwd").build(),
    };
    LayerStore store = store();
    for (byte[] tar : hostile) {
      assertThatThrownBy(() -> ensure(store, tar))
          .isInstanceOf(CriException.class)
          .hasMessageContaining("refusing tar entry");
    }
    try (var files = Files.list(outside)) {
      assertThat(files).isEmpty();
    }
    assertThat(Files.exists(Path.of("/etc/x-spawnlet-test"))).isFalse();
    assertThat(Files.exists(tmp.resolve("store/x"))).isFalse();
    assertThat(store.list()).isEmpty();
    try (var layers = Files.list(tmp.resolve("store/layers"))) {
      assertThat(layers).as("no half layer or temp dir left").isEmpty();
    }
  }

  @Test
  void digestMismatchStoresNothing() throws IOException {
    byte[] tar = new TarBuilder().file("f", "content").build();
    LayerStore store = store();
    Digest wrong = Digest.of("something else".getBytes());
    assertThatThrownBy(
            () ->
                store.ensureLayer(
                    new ByteArrayInputStream(tar),
                    Compression.NONE,
                    Optional.empty(),
                    Optional.of(wrong)))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("diffID");
    byte[] gz = gzip(tar);
    assertThatThrownBy(
            () ->
                store.ensureLayer(
                    new ByteArrayInputStream(gz),
                    Compression.GZIP,
                    Optional.of(wrong),
                    Optional.of(Digest.of(tar))))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("layer digest");
    assertThat(store.list()).isEmpty();
    try (var layers = Files.list(tmp.resolve("store/layers"))) {
      assertThat(layers).isEmpty();
    }
  }

  @Test
  void gzipLayerWithBothDigestsAndReuse() throws IOException {
    byte[] tar = new TarBuilder().file("f", "content").build();
    byte[] gz = gzip(tar);
    LayerStore store = store();
    Layer layer =
        store.ensureLayer(
            new ByteArrayInputStream(gz),
            Compression.GZIP,
            Optional.of(Digest.of(gz)),
            Optional.of(Digest.of(tar)));
    assertThat(layer.digest()).isEqualTo(Digest.of(gz));
    assertThat(layer.compressedSize()).isEqualTo(gz.length);
    assertThat(layer.size()).isEqualTo(tar.length);
    // present already: the blob is not read (an empty stream would fail to unpack)
    Layer again =
        store.ensureLayer(
            new ByteArrayInputStream(new byte[0]),
            Compression.GZIP,
            Optional.of(Digest.of(gz)),
            Optional.empty());
    assertThat(again).isEqualTo(layer);
    store.remove(layer.diffId());
    assertThat(store.get(layer.diffId())).isEmpty();
    store.remove(layer.diffId());
  }

  @Test
  void concurrentEnsureUnpacksOnce() throws Exception {
    byte[] tar = new TarBuilder().file("f", "x".repeat(100_000)).build();
    LayerStore store = store();
    Callable<Layer> task =
        () ->
            store.ensureLayer(
                new ByteArrayInputStream(tar),
                Compression.NONE,
                Optional.empty(),
                Optional.of(Digest.of(tar)));
    try (var pool = Executors.newFixedThreadPool(8)) {
      var futures = pool.invokeAll(java.util.Collections.nCopies(8, task));
      for (var f : futures) {
        assertThat(f.get().diffId()).isEqualTo(Digest.of(tar));
      }
    }
    assertThat(store.list()).hasSize(1);
  }

  @Test
  void staleTempDirsOfDeadProcessesAreRemovedAtOpen() throws IOException {
    Path stale = tmp.resolve("store/layers/.tmp-999999999-x");
    Files.createDirectories(stale.resolve("diff"));
    store();
    assertThat(Files.exists(stale)).isFalse();
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }
}
