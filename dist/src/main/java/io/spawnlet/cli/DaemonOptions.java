package io.spawnlet.cli;

import io.spawnlet.cri.config.DaemonConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** The daemon's flags, shared by {@code spawnlet cri} and {@code spawnlet run}. */
final class DaemonOptions {
  /** The environment variable that set the metrics address before the flag and key existed. */
  static final String METRICS_ADDRESS_ENV = "SPAWNLET_METRICS_ADDRESS";

  @Option(
      names = "--config",
      description = "YAML config file (default: ${DEFAULT-VALUE}).",
      defaultValue = "/etc/spawnlet/config.yaml")
  Path config;

  @Option(names = "--socket", description = "CRI socket path (default /run/spawnlet/cri.sock).")
  Path socket;

  @Option(names = "--root", description = "State directory (default /var/lib/spawnlet).")
  Path root;

  @Option(names = "--run-root", description = "Runtime directory (default /run/spawnlet).")
  Path runRoot;

  @Option(
      names = "--cni-conf-dir",
      description = "CNI config directory (repeatable; default /etc/cni/net.d).")
  List<Path> cniConfDirs;

  @Option(
      names = "--cni-plugin-dir",
      description = "CNI plugin directory (repeatable; default /opt/cni/bin and /usr/lib/cni).")
  List<Path> cniPluginDirs;

  @Option(
      names = "--cni-subnet",
      description = "Subnet of spawnlet's default network (default 10.89.0.0/16).")
  String cniSubnet;

  @Option(
      names = "--cni-bridge",
      description = "Bridge of spawnlet's default network (default spawnlet0).")
  String cniBridge;

  @Option(names = "--runtime", description = "Default OCI runtime: crun or runc (default crun).")
  String runtime;

  @Option(names = "--log-level", description = "error, warn, info, debug (default info).")
  String logLevel;

  @Option(
      names = "--registry-auth-file",
      description =
          "Docker-style auth.json with registry credentials (default /etc/spawnlet/auth.json;"
              + " $XDG_RUNTIME_DIR/containers/auth.json is read too).")
  Path registryAuthFile;

  @Option(
      names = "--metrics-address",
      description =
          "HOST:PORT of socket activation's Prometheus /metrics, or off (default 127.0.0.1:9464;"
              + " also SPAWNLET_METRICS_ADDRESS).")
  String metricsAddress;

  @Option(
      names = "--stream-address",
      description =
          "host:port of the streaming server (exec/attach/port-forward URLs; default"
              + " 127.0.0.1:0, a free port).")
  String streamAddress;

  @Option(
      names = "--storage-driver",
      description =
          "How container root filesystems are made: overlay (default) or btrfs (the root must"
              + " be on btrfs: a subvolume per layer, a snapshot per container).")
  String storageDriver;

  /**
   * The config file under these flags (flags win, then SPAWNLET_METRICS_ADDRESS, then the file).
   */
  DaemonConfig effective() throws IOException {
    DaemonConfig file = DaemonConfig.load(config);
    DaemonConfig flags =
        new DaemonConfig(
            socket,
            root,
            runRoot,
            cniConfDirs,
            cniPluginDirs,
            cniSubnet,
            cniBridge,
            runtime,
            null,
            null,
            logLevel,
            null,
            registryAuthFile,
            metricsAddress != null ? metricsAddress : System.getenv(METRICS_ADDRESS_ENV),
            streamAddress,
            storageDriver,
            null);
    return file.overlay(flags);
  }
}
