package io.spawnlet.cli;

import io.spawnlet.cri.SpawnletDaemon;
import io.spawnlet.cri.config.DaemonConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code spawnlet cri}: the CRI daemon in the foreground. */
@Command(
    name = "cri",
    mixinStandardHelpOptions = true,
    description = {
      "Run the CRI daemon (RuntimeService + ImageService) on a unix socket.",
      "Every option is also a key of the config file; options win."
    })
final class CriCommand implements Callable<Integer> {
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

  @Override
  public Integer call() throws Exception {
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
            registryAuthFile);
    DaemonConfig effective = file.overlay(flags);
    Logging.setLevel(effective.logLevel());
    try (SpawnletDaemon daemon = SpawnletDaemon.start(effective, VersionCommand.version())) {
      Runtime.getRuntime().addShutdownHook(new Thread(daemon::close, "shutdown"));
      daemon.awaitTermination();
    }
    return 0;
  }
}
