package io.spawnlet.cri.oci;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The capabilities this process may hand on: its bounding set. The runtime runs as our child, and
 * capset(2) refuses a capability outside it ("capset: Operation not permitted"); our hosts' root
 * lacks CAP_SYS_RESOURCE, for one. So a privileged container, or one that adds ALL, gets every
 * capability we have, as Docker and CRI-O do on such hosts.
 */
public record HostCapabilities(Set<String> bounding) {
  public HostCapabilities {
    bounding = Set.copyOf(bounding);
  }

  /** Every capability this build knows: for tests and hosts that restrict nothing. */
  public static HostCapabilities all() {
    return new HostCapabilities(Set.copyOf(OciSpecBuilder.ALL_CAPABILITIES));
  }

  /** Reads CapBnd from /proc/self/status. */
  public static HostCapabilities ofThisProcess() {
    try {
      return parse(Files.readString(Path.of("/proc/self/status")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/self/status", e);
    }
  }

  /** From a /proc/PID/status text; capability bit n is {@code ALL_CAPABILITIES.get(n)}. */
  static HostCapabilities parse(String procStatus) {
    for (String line : procStatus.split("\n")) {
      if (line.startsWith("CapBnd:")) {
        long mask = Long.parseUnsignedLong(line.substring("CapBnd:".length()).trim(), 16);
        Set<String> names = new LinkedHashSet<>();
        for (int bit = 0; bit < OciSpecBuilder.ALL_CAPABILITIES.size(); bit++) {
          if ((mask & (1L << bit)) != 0) {
            names.add(OciSpecBuilder.ALL_CAPABILITIES.get(bit));
          }
        }
        return new HostCapabilities(names);
      }
    }
    throw new IllegalArgumentException("no CapBnd line in the process status");
  }

  /** {@code wanted} without what we cannot grant, order kept. */
  public Set<String> grantable(Set<String> wanted) {
    Set<String> out = new LinkedHashSet<>(wanted);
    out.retainAll(bounding);
    return out;
  }
}
