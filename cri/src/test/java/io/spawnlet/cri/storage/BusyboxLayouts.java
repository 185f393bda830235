package io.spawnlet.cri.storage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Real OCI layouts made with umoci for the storage tests, and what they need around them. */
final class BusyboxLayouts {
  /** Changes an unpacked bundle's rootfs before it is repacked. */
  interface RootfsChange {
    void apply(Path rootfs) throws Exception;
  }

  private BusyboxLayouts() {}

  /**
   * An OCI layout in {@code tmp}/layout with tag latest (busybox with sh, ls, cat, echo, plus
   * {@code v1}'s changes) and tag v2 (a second layer deleting bin/cat, adding /added, plus {@code
   * v2}'s changes).
   */
  static Path busybox(Path tmp, RootfsChange v1, RootfsChange v2) throws Exception {
    Path layout = tmp.resolve("layout");
    Path bundle = tmp.resolve("bundle");
    run("umoci", "init", "--layout", layout.toString());
    run("umoci", "new", "--image", layout + ":latest");
    run("umoci", "unpack", "--image", layout + ":latest", bundle.toString());
    Path bin = bundle.resolve("rootfs/bin");
    Files.createDirectories(bin);
    Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"));
    for (String applet : List.of("sh", "ls", "cat", "echo")) {
      Files.createSymbolicLink(bin.resolve(applet), Path.of("busybox"));
    }
    v1.apply(bundle.resolve("rootfs"));
    run("umoci", "repack", "--image", layout + ":latest", bundle.toString());
    run("umoci", "tag", "--image", layout + ":latest", "v2");
    Path bundle2 = tmp.resolve("bundle2");
    run("umoci", "unpack", "--image", layout + ":v2", bundle2.toString());
    Files.delete(bundle2.resolve("rootfs/bin/cat"));
    Files.writeString(bundle2.resolve("rootfs/added"), "v2\n");
    v2.apply(bundle2.resolve("rootfs"));
    run("umoci", "repack", "--image", layout + ":v2", bundle2.toString());
    return layout;
  }

  /** The image's layers from {@code layers}, top first (as a rootfs driver takes them). */
  static List<Layer> lowerTopFirst(LayerStore layers, Image image) {
    List<Layer> result = new ArrayList<>();
    for (String diffId : image.diffIds()) {
      result.add(0, layers.get(Digest.parse("diffId", diffId)).orElseThrow());
    }
    return result;
  }

  static String run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", argv) + " failed: " + out);
    }
    return out;
  }
}
