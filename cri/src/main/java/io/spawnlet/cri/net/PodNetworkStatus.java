package io.spawnlet.cri.net;

import java.util.List;
import java.util.Optional;

/** A pod's addresses, without prefix length: the primary IPv4 first, then the others. */
public record PodNetworkStatus(List<String> ips) {
  public PodNetworkStatus {
    ips = List.copyOf(ips);
  }

  /** The pod IP of the CRI status; the rest are its additional IPs. */
  public Optional<String> primaryIp() {
    return ips.stream().findFirst();
  }
}
