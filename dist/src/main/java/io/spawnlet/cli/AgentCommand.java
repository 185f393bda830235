package io.spawnlet.cli;

import io.spawnlet.agent.NodeAgent;
import io.spawnlet.agent.cri.CriPodRuntime;
import io.spawnlet.cri.SpawnletDaemon;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code spawnlet agent}: the node agent against a running CRI daemon's socket. Registers the node,
 * runs the pods the scheduler binds to it. On SIGTERM the pods keep running.
 */
@Command(
    name = "agent",
    mixinStandardHelpOptions = true,
    description = {
      "Run the node agent: register this node with the cluster and run the pods bound to it,",
      "through the CRI daemon at --cri-socket. Pods keep running when the agent stops."
    })
final class AgentCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(AgentCommand.class);

  @Option(
      names = "--cri-socket",
      defaultValue = "/run/spawnlet/cri.sock",
      description = "The CRI daemon's socket (default: ${DEFAULT-VALUE}).")
  Path criSocket;

  @Option(
      names = "--root",
      defaultValue = "/var/lib/spawnlet",
      description = "State directory; the agent's is <root>/agent (default: ${DEFAULT-VALUE}).")
  Path root;

  @Option(names = "--log-level", description = "error, warn, info, debug (default info).")
  String logLevel;

  @Mixin AgentOptions agent;

  @Mixin ClusterOptions cluster;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Logging.setLevel(logLevel == null ? "info" : logLevel);
    if (!Files.exists(criSocket)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--cri-socket " + criSocket + ": no daemon socket there (start 'spawnlet cri')");
    }
    return runAgent(spec.commandLine(), agent, cluster, root, criSocket, null);
  }

  /** Runs the agent until SIGTERM; {@code daemon} (if any) is closed last. */
  static int runAgent(
      CommandLine cmd,
      AgentOptions agent,
      ClusterOptions cluster,
      Path root,
      Path socket,
      SpawnletDaemon daemon)
      throws Exception {
    CriPodRuntime runtime = new CriPodRuntime(socket);
    NodeAgent nodeAgent =
        new NodeAgent(
            NodeAgent.client(Optional.ofNullable(cluster.kubeconfig)),
            agent.settings(Optional.ofNullable(cluster.manifests), root),
            cluster.node(agent.nodeName(), cmd),
            runtime);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info("stopping the agent: pods keep running");
                  nodeAgent.close();
                  runtime.close();
                  if (daemon != null) {
                    daemon.close();
                  }
                  stopped.countDown();
                },
                "shutdown"));
    nodeAgent.start();
    stopped.await();
    return 0;
  }
}
