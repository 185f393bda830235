package io.spawnlet.cni;

import java.util.List;
import java.util.Map;

/**
 * What the cache remembers of one ADD: the attachment, the namespace path and arguments it was made
 * with, the network configuration that made it (so DEL can run with the same plugins even if the
 * config files changed since), and the final result.
 */
public record CachedAttachment(
    String networkName,
    String containerId,
    String ifName,
    String netnsPath,
    Map<String, String> args,
    List<PortMapping> portMappings,
    CniConfigList config,
    CniResult result) {

  /** The runtime parameters of the original ADD. */
  public RuntimeConf runtimeConf() {
    return new RuntimeConf(containerId, netnsPath, ifName, args, portMappings);
  }
}
