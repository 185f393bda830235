package io.spawnlet.cri.sandbox;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.IdMapping;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import runtime.v1.IDMapping;
import runtime.v1.PodSandboxConfig;
import runtime.v1.UserNamespace;

/**
 * What a pod asks for its user namespace, from {@code
 * linux.security_context.namespace_options.userns_options}:
 *
 * <pre>
 *   options absent, system pod, not privileged  → ALLOCATE (a range from {@link HostIdRanges})
 *   options absent, otherwise                   → HOST
 *   mode NODE                                   → HOST (the pod asks to run as host ids)
 *   mode POD, no uids/gids                      → ALLOCATE
 *   mode POD, uids and gids                     → GIVEN (kubelet allocated them), validated
 *   mode CONTAINER / TARGET                     → INVALID_ARGUMENT
 * </pre>
 *
 * A privileged system pod without options runs in the host's user namespace: privileged is the
 * pod's explicit ask for host powers, which a user namespace would take away again.
 */
public record UserNamespaceRequest(Kind kind, Optional<UserNamespaceMapping> given) {
  public enum Kind {
    HOST,
    ALLOCATE,
    GIVEN
  }

  static final String FIELD = "config.linux.security_context.namespace_options.userns_options";

  /** Container ids 0 .. 2^32-2 (the kernel reserves 2^32-1 as "no id"). */
  private static final long ID_LIMIT = 0xFFFF_FFFFL;

  public static UserNamespaceRequest of(PodSandboxConfig config, boolean systemPod) {
    var security = config.getLinux().getSecurityContext();
    var options = security.getNamespaceOptions();
    if (!options.hasUsernsOptions()) {
      return systemPod && !security.getPrivileged() ? allocate() : host();
    }
    UserNamespace userns = options.getUsernsOptions();
    switch (userns.getMode()) {
      case NODE -> {
        if (userns.getUidsCount() > 0 || userns.getGidsCount() > 0) {
          throw CriException.invalid(FIELD, "mode NODE takes no uids/gids mappings");
        }
        return host();
      }
      case POD -> {
        if (userns.getUidsCount() == 0 && userns.getGidsCount() == 0) {
          return allocate();
        }
        if (security.getPrivileged()) {
          throw CriException.invalid(
              FIELD, "a privileged pod cannot have a user namespace; use mode NODE");
        }
        List<IdMapping> uids = mappings(FIELD + ".uids", userns.getUidsList());
        List<IdMapping> gids = mappings(FIELD + ".gids", userns.getGidsList());
        return new UserNamespaceRequest(
            Kind.GIVEN, Optional.of(new UserNamespaceMapping(uids, gids, false)));
      }
      default ->
          throw CriException.invalid(
              FIELD + ".mode",
              "is "
                  + userns.getMode()
                  + "; a pod's user namespace is POD (its own) or NODE (the host's)");
    }
  }

  private static UserNamespaceRequest host() {
    return new UserNamespaceRequest(Kind.HOST, Optional.empty());
  }

  private static UserNamespaceRequest allocate() {
    return new UserNamespaceRequest(Kind.ALLOCATE, Optional.empty());
  }

  /**
   * uid_map / gid_map rules: non-empty, in range, no overlaps, root mapped but not to host root.
   */
  static List<IdMapping> mappings(String field, List<IDMapping> given) {
    if (given.isEmpty()) {
      throw CriException.invalid(field, "is empty; give uids and gids, or neither");
    }
    if (given.size() > 340) {
      throw CriException.invalid(field, "has " + given.size() + " mappings; the kernel takes 340");
    }
    List<IdMapping> result = new ArrayList<>();
    boolean rootMapped = false;
    for (int i = 0; i < given.size(); i++) {
      String f = field + "[" + i + "]";
      IDMapping g = given.get(i);
      long container = Integer.toUnsignedLong(g.getContainerId());
      long host = Integer.toUnsignedLong(g.getHostId());
      long length = Integer.toUnsignedLong(g.getLength());
      if (length == 0) {
        throw CriException.invalid(f + ".length", "must be at least 1");
      }
      if (container + length > ID_LIMIT || host + length > ID_LIMIT) {
        throw CriException.invalid(
            f,
            "ends beyond id "
                + (ID_LIMIT - 1)
                + " (container "
                + container
                + ", host "
                + host
                + ", length "
                + length
                + ")");
      }
      IdMapping m = new IdMapping(container, host, length);
      if (host == 0) {
        throw CriException.invalid(
            f + ".host_id",
            "maps host id 0 (host root) into the pod; use mode NODE for a pod that runs as host"
                + " root");
      }
      for (int j = 0; j < result.size(); j++) {
        IdMapping other = result.get(j);
        if (m.overlapsOnHost(other)) {
          throw CriException.invalid(f, "overlaps " + field + "[" + j + "] on the host ids");
        }
        if (m.containerId() < other.containerEnd() && other.containerId() < m.containerEnd()) {
          throw CriException.invalid(f, "overlaps " + field + "[" + j + "] on the container ids");
        }
      }
      rootMapped |= container == 0;
      result.add(m);
    }
    if (!rootMapped) {
      throw CriException.invalid(field, "must map container id 0 (the container's root)");
    }
    return result;
  }
}
