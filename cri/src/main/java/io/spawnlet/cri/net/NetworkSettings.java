package io.spawnlet.cri.net;

import io.spawnlet.cni.DefaultNetwork;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Where pod networking comes from: CNI config dirs (the first config file found wins), plugin dirs,
 * spawnlet's state dir (result cache in {@code <stateDir>/cni/results}, IPAM leases of the default
 * network in {@code <stateDir>/cni/networks}), and the default network used when no config file is
 * installed ({@code useDefaultNetwork}).
 */
public record NetworkSettings(
    List<Path> confDirs,
    List<Path> pluginDirs,
    Path stateDir,
    boolean useDefaultNetwork,
    String defaultBridge,
    String defaultSubnet,
    Duration pluginTimeout) {

  public static final List<Path> CONF_DIRS = List.of(Path.of("/etc/cni/net.d"));

  /** Debian installs the plugins in /usr/lib/cni; upstream tarballs in /opt/cni/bin. */
  public static final List<Path> PLUGIN_DIRS =
      List.of(Path.of("/usr/lib/cni"), Path.of("/opt/cni/bin"));

  public NetworkSettings {
    confDirs = List.copyOf(confDirs);
    pluginDirs = List.copyOf(pluginDirs);
  }

  public static NetworkSettings defaults(Path stateDir) {
    return new NetworkSettings(
        CONF_DIRS,
        PLUGIN_DIRS,
        stateDir,
        true,
        DefaultNetwork.BRIDGE,
        DefaultNetwork.SUBNET,
        Duration.ofMinutes(2));
  }

  Path cacheDir() {
    return stateDir.resolve("cni").resolve("results");
  }

  Path ipamDataDir() {
    return stateDir.resolve("cni").resolve("networks");
  }
}
