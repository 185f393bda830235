package io.spawnlet.cli;

import io.spawnlet.cri.SpawnletDaemon;
import io.spawnlet.cri.config.DaemonConfig;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code spawnlet node}: the CRI daemon and the node agent in one process (the DaemonSet form). */
@Command(
    name = "node",
    mixinStandardHelpOptions = true,
    description = {
      "Run a whole node: the CRI daemon and the node agent in one process.",
      "Registers this node with the cluster and runs the pods bound to it."
    })
final class NodeCommand implements Callable<Integer> {
  @Mixin DaemonOptions daemonOptions;

  @Mixin AgentOptions agent;

  @Mixin ClusterOptions cluster;

  @CommandLine.Option(
      names = "--health-address",
      description = "Serve /healthz and /readyz on HOST:PORT (plain HTTP; default: not served).")
  String healthAddress;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    DaemonConfig config = daemonOptions.effective();
    Logging.setLevel(config.logLevel());
    AtomicBoolean ready = new AtomicBoolean();
    // Served from the start, so the startup probe sees the process live while the daemon starts.
    if (healthAddress != null) {
      HealthEndpoint.start(healthAddress, ready::get);
    }
    SpawnletDaemon daemon = SpawnletDaemon.start(config, VersionCommand.version());
    ready.set(true);
    return AgentCommand.runAgent(
        spec.commandLine(), agent, cluster, config.root(), config.socket(), daemon);
  }
}
