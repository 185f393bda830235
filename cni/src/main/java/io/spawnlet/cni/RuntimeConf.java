package io.spawnlet.cni;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * What the runtime knows about one attachment: the container, the path of its network namespace
 * (empty on DEL when the namespace is already gone), the interface name inside it, the {@code
 * CNI_ARGS} key/value pairs and the port mappings (passed only to plugins that declare the {@code
 * portMappings} capability).
 */
public record RuntimeConf(
    String containerId,
    String netnsPath,
    String ifName,
    Map<String, String> args,
    List<PortMapping> portMappings) {

  public RuntimeConf {
    Objects.requireNonNull(containerId, "containerId");
    netnsPath = netnsPath == null ? "" : netnsPath;
    Objects.requireNonNull(ifName, "ifName");
    args =
        args == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(args));
    portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
  }

  /** The same attachment with another namespace path (e.g. empty once the namespace is gone). */
  public RuntimeConf withNetnsPath(String path) {
    return new RuntimeConf(containerId, path, ifName, args, portMappings);
  }

  /** The same attachment with other port mappings. */
  public RuntimeConf withPortMappings(List<PortMapping> mappings) {
    return new RuntimeConf(containerId, netnsPath, ifName, args, mappings);
  }

  Attachment attachment() {
    return new Attachment(containerId, ifName);
  }

  /** {@code CNI_ARGS}: {@code K1=V1;K2=V2} in insertion order. */
  String cniArgs() {
    return args.entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(";"));
  }
}
