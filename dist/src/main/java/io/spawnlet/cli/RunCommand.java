package io.spawnlet.cli;

import io.spawnlet.agent.cri.CriPodRuntime;
import io.spawnlet.agent.pod.AgentSettings;
import io.spawnlet.agent.pod.StaticPodController;
import io.spawnlet.cri.SpawnletDaemon;
import io.spawnlet.cri.config.DaemonConfig;
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
 * {@code spawnlet run --manifests DIR}: static pods on this machine, no cluster. Starts the CRI
 * daemon in this JVM (unless {@code --cri-socket} names a running one) and the static pod source.
 * On SIGTERM the pods keep running (like the kubelet) unless {@code --stop-pods-on-exit}.
 */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Run the Kubernetes Pod manifests of a directory as static pods (no cluster).",
      "New files start pods, removed files stop them, edited files replace them.",
      "The CRI daemon runs in this process unless --cri-socket names a running one."
    })
final class RunCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

  @Option(names = "--manifests", required = true, description = "Directory of Pod manifests.")
  Path manifests;

  @Option(
      names = "--cri-socket",
      description = "Use the spawnlet (or other CRI) daemon already listening here.")
  Path criSocket;

  @Option(
      names = "--stop-pods-on-exit",
      description = "Stop and remove the pods on SIGTERM (default: leave them running).")
  boolean stopPodsOnExit;

  @Mixin AgentOptions agent;

  @Mixin DaemonOptions daemonOptions;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    DaemonConfig config = daemonOptions.effective();
    Logging.setLevel(config.logLevel());
    if (!Files.isDirectory(manifests)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--manifests " + manifests + " is not a directory");
    }
    AgentSettings settings = agent.settings(Optional.of(manifests), config.root());

    SpawnletDaemon daemon = null;
    Path socket = criSocket;
    if (socket == null) {
      daemon = SpawnletDaemon.start(config, VersionCommand.version());
      socket = config.socket();
    } else if (!Files.exists(socket)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--cri-socket " + socket + ": no daemon socket there");
    }
    CriPodRuntime runtime = new CriPodRuntime(socket);
    StaticPodController controller = new StaticPodController(settings, runtime);
    CountDownLatch stopped = new CountDownLatch(1);
    SpawnletDaemon ownDaemon = daemon;
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info(
                      "stopping: {}",
                      stopPodsOnExit ? "stopping and removing the pods" : "pods keep running");
                  controller.close(stopPodsOnExit);
                  runtime.close();
                  if (ownDaemon != null) {
                    ownDaemon.close();
                  }
                  stopped.countDown();
                },
                "shutdown"));
    controller.start();
    stopped.await();
    return 0;
  }
}
