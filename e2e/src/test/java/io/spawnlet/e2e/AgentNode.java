package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real control plane ({@link ControlPlane}) with {@code spawnlet agent} as its node, the agent a
 * separate process talking to a test's {@link SpawnletDaemon} over the CRI socket, so a test can
 * SIGKILL and restart it while the daemon and its containers keep running. Everything lives under
 * one temporary directory, deleted on {@link #close()}.
 */
final class AgentNode implements AutoCloseable {
  private final SpawnletDaemon daemon;
  private final Path base;
  private final ControlPlane cluster;
  private final Path agentLog;
  private Process agent;

  private AgentNode(SpawnletDaemon daemon, Path base, ControlPlane cluster) {
    this.daemon = daemon;
    this.base = base;
    this.cluster = cluster;
    this.agentLog = base.resolve("agent.log");
  }

  /** Starts a control plane and an agent for {@code daemon} in a new temporary directory. */
  static AgentNode start(SpawnletDaemon daemon, String prefix) {
    try {
      Path base = Files.createTempDirectory(prefix);
      ControlPlane cluster;
      try {
        cluster = ControlPlane.start(base.resolve("cluster"));
      } catch (RuntimeException | AssertionError e) {
        deleteTree(base);
        throw e;
      }
      AgentNode node = new AgentNode(daemon, base, cluster);
      node.startAgent();
      return node;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make the agent's directory", e);
    }
  }

  ControlPlane cluster() {
    return cluster;
  }

  Path base() {
    return base;
  }

  /** The agent's static pod manifest directory (empty at first). */
  Path manifests() {
    return base.resolve("manifests");
  }

  /** Starts the agent process (again, after {@link #killAgent()}); its output is appended. */
  void startAgent() {
    E2eEnvironment env = E2eEnvironment.fromSystem();
    List<String> command =
        new ArrayList<>(
            List.of(
                env.java().toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-jar",
                env.requireSpawnletJar().toString(),
                "agent",
                "--kubeconfig",
                cluster.nodeKubeconfig().toString(),
                "--node-name",
                cluster.nodeName(),
                "--cri-socket",
                daemon.socket().toString(),
                "--root",
                base.resolve("root").toString(),
                "--pod-log-dir",
                daemon.podLogs().toString(),
                "--manifests",
                manifests().toString(),
                "--log-level",
                "debug"));
    try {
      Files.createDirectories(manifests());
      agent =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(agentLog.toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  /** SIGKILLs the agent and waits for it to be gone. */
  void killAgent() throws InterruptedException {
    agent.destroyForcibly();
    agent.waitFor();
  }

  /** Waits until the node reports Ready=True; fails with the agent's log tail. */
  void awaitNodeReady(Duration atMost) {
    await("node Ready")
        .atMost(atMost)
        .untilAsserted(
            () ->
                assertThat(
                        field(
                            "node",
                            cluster.nodeName(),
                            "{.status.conditions[?(@.type==\"Ready\")].status}"))
                    .as(agentLogTail())
                    .isEqualTo("True"));
  }

  /** One field of an object in the default namespace, by kubectl's JSONPath. */
  String field(String kind, String name, String jsonPath) {
    return kubectl("get", kind, name, "-o", "jsonpath=" + jsonPath);
  }

  /** {@code kubectl apply -f} of a manifest given as text. */
  void apply(String manifest) {
    try {
      Path file = Files.createTempFile(base, "manifest-", ".yaml");
      Files.writeString(file, manifest, StandardCharsets.UTF_8);
      kubectl("apply", "-f", file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** kubectl as the cluster administrator; fails the test on a non-zero exit. */
  String kubectl(String... args) {
    return cluster.kubectl(args).requireSuccess().strip();
  }

  String agentLog() {
    try {
      return Files.readString(agentLog);
    } catch (IOException e) {
      return "no agent log: " + e;
    }
  }

  /** The last lines of the agent's log, for assertion messages. */
  String agentLogTail() {
    try {
      List<String> lines = Files.readAllLines(agentLog);
      return "agent log:\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "no agent log: " + e;
    }
  }

  /** Stops the agent (SIGTERM: pods keep running, the daemon's clean-up removes them). */
  @Override
  public void close() throws Exception {
    try {
      if (agent != null) {
        agent.destroy();
        agent.waitFor();
      }
      cluster.close();
    } finally {
      deleteTree(base);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
