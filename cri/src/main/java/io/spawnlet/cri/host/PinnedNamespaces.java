package io.spawnlet.cri.host;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The namespaces pinned for one sandbox: for each kind, the bind-mounted nsfs file that keeps it
 * alive and that containers join (OCI {@code linux.namespaces[].path}, CNI {@code CNI_NETNS}). A
 * kind that is absent was not pinned: the pod uses the node's namespace of that kind.
 */
public record PinnedNamespaces(String sandboxId, Map<NamespaceKind, Path> paths) {
  public PinnedNamespaces {
    paths = paths.isEmpty() ? Map.of() : Map.copyOf(new EnumMap<>(paths));
  }

  public Optional<Path> path(NamespaceKind kind) {
    return Optional.ofNullable(paths.get(kind));
  }

  /** The network namespace file, absent for a pod on the node's network. */
  public Optional<Path> network() {
    return path(NamespaceKind.NET);
  }
}
