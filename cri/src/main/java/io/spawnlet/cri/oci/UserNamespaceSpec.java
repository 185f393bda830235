package io.spawnlet.cri.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.store.IdMapping;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.util.List;

/**
 * Puts a container into a user namespace of its pod's mappings. What the runtime (crun) does with
 * it, and what we arrange around it:
 *
 * <ul>
 *   <li>{@code linux.uidMappings}/{@code gidMappings} and a {@code user} namespace: crun makes the
 *       namespace, then mounts {@code /proc}, tmpfs {@code /dev}, {@code /run}, {@code /tmp} from
 *       inside it, so they belong to the container's root without uid= options; device nodes are
 *       bind-mounted from the host (mknod is not allowed in a user namespace);
 *   <li>{@code /sys}: a new sysfs needs a network namespace owned by the mounting user namespace,
 *       and the pod's is made by the daemon (the host's user namespace owns it), so the host's
 *       {@code /sys} is bound read-only, as for host-network pods (crun 1.8 would otherwise leave
 *       {@code /sys} empty; systemd-nspawn -U binds it in the same case). It shows the host's
 *       devices and network interfaces, read-only;
 *   <li>the rootfs is already idmapped ({@code storage.ContainerRootfs}); the cgroup is delegated
 *       after create ({@code host.CgroupDelegation}); the pod's network namespace allows
 *       unprivileged ports ({@code host.NetnsSysctls}).
 * </ul>
 */
public final class UserNamespaceSpec {
  private UserNamespaceSpec() {}

  /** Changes {@code spec} in place. */
  public static ObjectNode apply(ObjectNode spec, UserNamespaceMapping mapping) {
    ObjectNode linux = (ObjectNode) spec.get("linux");
    ArrayNode namespaces = (ArrayNode) linux.get("namespaces");
    boolean present = false;
    for (JsonNode n : namespaces) {
      present |= n.path("type").asText().equals("user");
    }
    if (!present) {
      namespaces.addObject().put("type", "user");
    }
    linux.set("uidMappings", mappings(mapping.uids()));
    linux.set("gidMappings", mappings(mapping.gids()));
    for (JsonNode m : (ArrayNode) spec.get("mounts")) {
      if (m.path("destination").asText().equals("/sys")
          && m.path("type").asText().equals("sysfs")) {
        ObjectNode sys = (ObjectNode) m;
        sys.put("type", "bind");
        sys.put("source", "/sys");
        ArrayNode options = sys.putArray("options");
        for (String o : List.of("rbind", "nosuid", "noexec", "nodev", "ro")) {
          options.add(o);
        }
      }
    }
    return spec;
  }

  private static ArrayNode mappings(List<IdMapping> given) {
    ArrayNode result = OciSpecBuilder.JSON.createArrayNode();
    for (IdMapping m : given) {
      result
          .addObject()
          .put("containerID", m.containerId())
          .put("hostID", m.hostId())
          .put("size", m.length());
    }
    return result;
  }
}
