package io.spawnlet.cri.sandbox;

import io.spawnlet.cni.PortMapping;
import io.spawnlet.cri.host.PinnedNamespaces;
import io.spawnlet.cri.store.Directories;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import runtime.v1.PodSandboxConfig;
import runtime.v1.Protocol;

/** Where a sandbox's files live: its state dir under the root, its mounts under the run root. */
public final class SandboxLayout {
  private final Path stateRoot;
  private final Path runRoot;

  public SandboxLayout(Path stateRoot, Path runRoot) {
    this.stateRoot = stateRoot.resolve("sandboxes");
    this.runRoot = runRoot.resolve("sandboxes");
  }

  public SandboxFiles files(String sandboxId) {
    return new SandboxFiles(stateRoot.resolve(sandboxId), runRoot.resolve(sandboxId));
  }

  /** Deletes the run-root side (the state side goes with the record). */
  void delete(SandboxFiles files) throws IOException {
    Directories.deleteTree(files.shm().getParent());
  }

  static Map<String, String> namespacePaths(PinnedNamespaces pinned) {
    Map<String, String> m = new LinkedHashMap<>();
    pinned.paths().forEach((kind, path) -> m.put(kind.ociType(), path.toString()));
    return m;
  }

  static List<PortMapping> portMappings(PodSandboxConfig config) {
    return config.getPortMappingsList().stream()
        .filter(p -> p.getHostPort() > 0)
        .map(
            p ->
                new PortMapping(
                    p.getHostPort(),
                    p.getContainerPort(),
                    protocol(p.getProtocol()),
                    p.getHostIp()))
        .toList();
  }

  private static String protocol(Protocol p) {
    return p == Protocol.UNRECOGNIZED ? "tcp" : p.name().toLowerCase(Locale.ROOT);
  }
}
