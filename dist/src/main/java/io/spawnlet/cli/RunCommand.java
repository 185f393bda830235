package io.spawnlet.cli;

import io.spawnlet.agent.cri.CriPodRuntime;
import io.spawnlet.agent.pod.AgentSettings;
import io.spawnlet.agent.pod.StaticPodController;
import io.spawnlet.cri.SpawnletDaemon;
import io.spawnlet.cri.config.DaemonConfig;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
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
      names = "--state-dir",
      description = "The agent's directory, emptyDir volumes (default <root>/agent).")
  Path stateDir;

  @Option(
      names = "--pod-log-dir",
      defaultValue = "/var/log/pods",
      description = "Where pod log directories go (default: ${DEFAULT-VALUE}).")
  Path podLogDir;

  @Option(names = "--node-name", description = "Node name (default: the host name).")
  String nodeName;

  @Option(
      names = "--runtime-class",
      description = "RuntimeClass=handler (repeatable; spawnlet=system is built in).")
  Map<String, String> runtimeClasses = new LinkedHashMap<>();

  @Option(
      names = "--stop-pods-on-exit",
      description = "Stop and remove the pods on SIGTERM (default: leave them running).")
  boolean stopPodsOnExit;

  @Option(
      names = "--sync-interval",
      defaultValue = "1s",
      description = "How often manifests and containers are checked (default: ${DEFAULT-VALUE}).")
  String syncInterval;

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
    Map<String, String> classes = new LinkedHashMap<>(AgentSettings.DEFAULT_RUNTIME_CLASSES);
    classes.putAll(runtimeClasses);
    AgentSettings settings =
        new AgentSettings(
            manifests,
            Optional.ofNullable(stateDir).orElse(config.root().resolve("agent")),
            podLogDir,
            Optional.ofNullable(nodeName).orElseGet(RunCommand::hostname),
            classes,
            parseDuration(syncInterval));

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

  private static Duration parseDuration(String text) {
    String t = text.trim();
    if (t.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
    }
    if (t.endsWith("s")) {
      return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
    }
    return Duration.parse(t);
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }
}
