package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code kubectl exec, attach, port-forward, logs} against a real control plane, through the
 * apiserver to the agent's kubelet API (HTTPS, the apiserver's kubelet client certificate checked
 * against the cluster CA) and on to the daemon's streaming server: piped and terminal execs (a
 * terminal resize included), exit codes, attach to a container's stdin, an HTTP request through a
 * forwarded port, and the container's log.
 */
@KubernetesSuite
class KubectlStreamingIT {
  private static final Duration SLOW = Duration.ofSeconds(120);

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Path base;
  private static ControlPlane cluster;
  private static Process agent;
  private static Path agentLog;
  private static String marker;

  @BeforeAll
  static void startClusterAgentAndPod() throws Exception {
    Assumptions.assumeTrue(
        ControlPlane.toolsBuilt(),
        "Kubernetes binaries not built: run scripts/k8s-tools.sh (scripts/test.sh does)");
    DAEMON.importTestImage("busybox", CriProtos.BUSYBOX);
    base = Files.createTempDirectory("spawnlet-kubectl-streams-");
    cluster = ControlPlane.start(base.resolve("cluster"));
    agentLog = base.resolve("agent.log");
    E2eEnvironment env = E2eEnvironment.fromSystem();
    agent =
        new ProcessBuilder(
                env.java().toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-jar",
                env.requireSpawnletJar().toString(),
                "agent",
                "--kubeconfig",
                cluster.nodeKubeconfig().toString(),
                "--node-name",
                cluster.nodeName(),
                "--node-ip",
                "127.0.0.1",
                "--kubelet-address",
                "127.0.0.1",
                "--kubelet-port",
                Integer.toString(freePort()),
                "--client-ca-file",
                cluster.caCertificate().toString(),
                "--cri-socket",
                DAEMON.socket().toString(),
                "--root",
                base.resolve("root").toString(),
                "--pod-log-dir",
                DAEMON.podLogs().toString())
            .redirectErrorStream(true)
            .redirectOutput(agentLog.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
    marker = "kubectl-" + UUID.randomUUID().toString().substring(0, 8);
    Path manifest = base.resolve("pod.yaml");
    Files.writeString(
        manifest,
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: streams}
        spec:
          terminationGracePeriodSeconds: 1
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          containers:
          - name: web
            image: %1$s
            imagePullPolicy: Never
            command: ["sh", "-c", "mkdir -p /www && echo %2$s > /www/index.html && echo log-%2$s && exec httpd -f -p 8080 -h /www"]
          - name: echo
            image: %1$s
            imagePullPolicy: Never
            stdin: true
            command: ["sh", "-c", "while read l; do echo got-$l; done"]
        """
            .formatted(CriProtos.BUSYBOX, marker));
    // The controller-manager makes the default service account a moment after it starts.
    await("pod created")
        .atMost(SLOW)
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> kubectl("apply", "-f", manifest.toString()).succeeded());
    await("pod streams Running")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        kubectl("get", "pod", "streams", "-o", "jsonpath={.status.phase}").stdout())
                    .as(agentLogTail())
                    .isEqualTo("Running"));
  }

  @AfterAll
  static void stopAll() throws Exception {
    try {
      if (cluster != null) {
        kubectl("delete", "pod", "streams", "--wait=true", "--timeout=60s");
      }
      if (agent != null) {
        agent.destroy();
        agent.waitFor();
      }
      if (cluster != null) {
        cluster.close();
      }
    } finally {
      if (base != null) {
        try (Stream<Path> paths = Files.walk(base)) {
          for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    }
  }

  @Test
  void execWithoutTerminalCarriesStdoutStderrAndTheExitCode() {
    ProcessResult r =
        kubectl("exec", "streams", "-c", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3");
    assertThat(r.stdout()).as(r.toString()).contains("out");
    assertThat(r.stderr()).as(r.toString()).contains("err");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(3);
  }

  @Test
  void execWithPipedStdin() throws Exception {
    Run r =
        run(
            kubectlCommand("exec", "-i", "streams", "-c", "web", "--", "tr", "a-z", "A-Z"),
            "piped\n");
    assertThat(r.output()).contains("PIPED");
    assertThat(r.exitCode()).isZero();
  }

  @Test
  void execWithTerminalUnderScriptSeesItsSize() throws Exception {
    String line =
        String.join(" ", kubectlCommand("exec", "-it", "streams", "-c", "web", "--", "sh"));
    Run r =
        run(
            List.of("script", "-qec", "stty cols 123 rows 45; " + line, "/dev/null"),
            "echo in-$((6*7)); tty; stty size\nexit 4\n");
    assertThat(r.output()).contains("in-42").contains("/dev/pts/").contains("45 123");
    assertThat(r.output()).contains("command terminated with exit code 4");
  }

  @Test
  void attachReachesTheContainersStdin() throws Exception {
    Path out = Files.createTempFile(base, "attach", ".out");
    Process attach =
        new ProcessBuilder(kubectlCommand("attach", "-i", "streams", "-c", "echo"))
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .start();
    try (OutputStream in = attach.getOutputStream()) {
      String word = "w" + UUID.randomUUID().toString().substring(0, 6);
      // kubectl may connect after the first line is written: repeat until one comes back.
      await("got-" + word + " through kubectl attach")
          .atMost(SLOW)
          .pollInterval(Duration.ofSeconds(1))
          .until(
              () -> {
                in.write((word + "\n").getBytes(StandardCharsets.UTF_8));
                in.flush();
                return Files.readString(out).contains("got-" + word);
              });
    } finally {
      attach.destroy();
      attach.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void portForwardCarriesHttp() throws Exception {
    int local = freePort();
    Path log = Files.createTempFile(base, "port-forward", ".log");
    Process forward =
        new ProcessBuilder(kubectlCommand("port-forward", "pod/streams", local + ":8080"))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      await("kubectl port-forward listening")
          .atMost(SLOW)
          .until(() -> Files.readString(log).contains("Forwarding from"));
      for (int i = 0; i < 3; i++) {
        Run curl = run(List.of("curl", "-sS", "-m", "30", "http://127.0.0.1:" + local + "/"), "");
        assertThat(curl.output()).as(Files.readString(log)).contains(marker);
      }
    } finally {
      forward.destroy();
      forward.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void logsShowWhatTheContainerWrote() {
    await("kubectl logs")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(kubectl("logs", "streams", "-c", "web").requireSuccess())
                    .contains("log-" + marker));
    assertThat(kubectl("logs", "streams", "-c", "web", "--tail=1", "--timestamps").stdout())
        .matches("(?s)\\d{4}-\\d\\d-\\d\\dT\\S+ log-" + marker + "\\s*");
    ProcessResult missing = kubectl("logs", "streams", "-c", "nosuch");
    assertThat(missing.exitCode()).isNotZero();
  }

  private static ProcessResult kubectl(String... args) {
    return cluster.kubectl(args);
  }

  private static List<String> kubectlCommand(String... args) {
    List<String> command = new ArrayList<>();
    command.add(ControlPlane.k8sTools().resolve("kubectl").toString());
    command.add("--kubeconfig=" + cluster.adminKubeconfig());
    command.addAll(List.of(args));
    return command;
  }

  private record Run(int exitCode, String output) {}

  private static Run run(List<String> command, String input) throws Exception {
    Path out = Files.createTempFile(base, "run", ".out");
    Process p =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    try (OutputStream in = p.getOutputStream()) {
      in.write(input.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      // the command did not read its input
    }
    if (!p.waitFor(SLOW.toSeconds(), TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly().waitFor();
      throw new AssertionError(command + " did not finish: " + Files.readString(out));
    }
    return new Run(p.exitValue(), Files.readString(out));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String agentLogTail() {
    try {
      List<String> lines = Files.readAllLines(agentLog);
      return "agent log:\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "no agent log: " + e;
    }
  }
}
