package io.spawnlet.cni;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The network spawnlet uses when no CNI config is installed: the shipped {@code default.conflist}
 * (bridge with gateway and masquerade, host-local IPAM, then portmap) with its bridge name, subnet
 * and IPAM state directory filled in. The IPAM {@code dataDir} is always spawnlet's own, so leases
 * never mix with another runtime's under {@code /var/lib/cni}.
 */
public record DefaultNetwork(String name, String bridge, String subnet, Path ipamDataDir) {
  public static final String NAME = "spawnlet";
  public static final String BRIDGE = "spawnlet0";
  public static final String SUBNET = "10.89.0.0/16";

  private static final String RESOURCE = "default.conflist";

  public DefaultNetwork {
    if (bridge.isEmpty() || bridge.length() > 15) {
      throw new IllegalArgumentException("bridge: \"" + bridge + "\" must have 1-15 characters");
    }
    if (!subnet.matches("[0-9a-fA-F:.]+/\\d{1,3}")) {
      throw new IllegalArgumentException(
          "subnet: \"" + subnet + "\" is not a CIDR like 10.89.0.0/16");
    }
  }

  /** The default network with its IPAM state under {@code ipamDataDir}. */
  public static DefaultNetwork withDefaults(Path ipamDataDir) {
    return new DefaultNetwork(NAME, BRIDGE, SUBNET, ipamDataDir);
  }

  /** The config list, as if read from a file. */
  public CniConfigList configList() {
    ObjectNode root;
    try (InputStream in = DefaultNetwork.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new CniException("resource " + RESOURCE + " is missing from the spawnlet-cni jar");
      }
      root = CniConfigLoader.readObject(in.readAllBytes(), Optional.empty());
    } catch (IOException e) {
      throw new CniException("cannot read resource " + RESOURCE + ": " + e.getMessage(), e);
    }
    root.put("name", name);
    ObjectNode bridgePlugin = (ObjectNode) root.withArray("plugins").get(0);
    bridgePlugin.put("bridge", bridge);
    ObjectNode ipam = (ObjectNode) bridgePlugin.get("ipam");
    ArrayNode ranges = ipam.putArray("ranges");
    ranges.addArray().addObject().put("subnet", subnet);
    ipam.putArray("routes").addObject().put("dst", subnet.contains(":") ? "::/0" : "0.0.0.0/0");
    ipam.put("dataDir", ipamDataDir.toAbsolutePath().toString());
    return CniConfigLoader.parseList(root, Optional.empty());
  }
}
