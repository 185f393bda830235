package io.spawnlet.cni;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * One entry of the well-known {@code portMappings} capability: traffic to {@code hostIp:hostPort}
 * (every host address when {@code hostIp} is empty) goes to the container's {@code containerPort}.
 * Protocol is {@code tcp}, {@code udp} or {@code sctp}.
 */
public record PortMapping(int hostPort, int containerPort, String protocol, String hostIp) {
  public PortMapping {
    Objects.requireNonNull(protocol, "protocol");
    hostIp = hostIp == null ? "" : hostIp;
    if (hostPort < 1 || hostPort > 65535) {
      throw new IllegalArgumentException("hostPort: " + hostPort + " is not in 1..65535");
    }
    if (containerPort < 1 || containerPort > 65535) {
      throw new IllegalArgumentException("containerPort: " + containerPort + " is not in 1..65535");
    }
  }

  /** The object the {@code portmap} plugin expects in {@code runtimeConfig.portMappings}. */
  ObjectNode toJson() {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("hostPort", hostPort);
    o.put("containerPort", containerPort);
    o.put("protocol", protocol.toLowerCase(java.util.Locale.ROOT));
    if (!hostIp.isEmpty()) {
      o.put("hostIP", hostIp);
    }
    return o;
  }

  static PortMapping fromJson(com.fasterxml.jackson.databind.JsonNode o) {
    return new PortMapping(
        o.path("hostPort").asInt(),
        o.path("containerPort").asInt(),
        o.path("protocol").asText("tcp"),
        o.path("hostIP").asText(""));
  }
}
