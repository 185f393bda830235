package io.spawnlet.cri.oci;

import java.nio.file.Path;
import java.util.List;

/**
 * One CRI runtime handler: which OCI runtime binary runs its containers, where that runtime keeps
 * its state ({@code --root}), which monitor babysits them, and the global flags the runtime needs.
 * crun and runc differ only in these values, so they are two instances, not two classes.
 *
 * @param name the CRI {@code runtime_handler} ("" selects the default, {@value #DEFAULT})
 * @param runtimePath the real runtime binary (before any {@link RuntimeCommand} wrapping)
 * @param rootDir the runtime's state directory, one per handler (e.g. /run/spawnlet/runtime/crun)
 * @param monitorPath conmon
 * @param globalFlags flags put before the runtime's sub-command, after {@code --root}
 */
public record RuntimeHandler(
    String name, Path runtimePath, Path rootDir, Path monitorPath, List<String> globalFlags) {

  public static final String DEFAULT = "crun";

  public RuntimeHandler {
    globalFlags = List.copyOf(globalFlags);
  }

  /** crun, managing cgroups itself through cgroupfs (no systemd on our hosts). */
  public static RuntimeHandler crun(Path runtimeRoot) {
    return new RuntimeHandler(
        "crun",
        Path.of("/usr/bin/crun"),
        runtimeRoot.resolve("crun"),
        Path.of("/usr/bin/conmon"),
        List.of("--cgroup-manager=cgroupfs"));
  }

  /** runc; cgroupfs is its default cgroup manager. */
  public static RuntimeHandler runc(Path runtimeRoot) {
    return new RuntimeHandler(
        "runc",
        Path.of("/usr/bin/runc"),
        runtimeRoot.resolve("runc"),
        Path.of("/usr/bin/conmon"),
        List.of());
  }

  /** The handler name a CRI request means: "" is the default handler. */
  public static String resolveName(String criRuntimeHandler) {
    return criRuntimeHandler == null || criRuntimeHandler.isEmpty() ? DEFAULT : criRuntimeHandler;
  }

  public boolean isCrun() {
    return runtimePath.getFileName().toString().equals("crun");
  }
}
