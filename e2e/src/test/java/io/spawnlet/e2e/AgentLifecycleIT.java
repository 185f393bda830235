package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the kubelet does around a container's life, through the apiserver with {@code spawnlet
 * agent} as the node: the service link variables of the pod's namespace's Services and of the
 * apiserver's own ({@code enableServiceLinks: false} leaves only the latter); postStart, and on
 * {@code kubectl delete} the preStop hooks (exec, httpGet, sleep), each before its container's stop
 * signal. The containers and the test's HTTP server append what happened to one file of a hostPath
 * volume, so the order is the order of the appends.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@KubernetesSuite
class AgentLifecycleIT {
  private static final Duration SLOW = Duration.ofSeconds(120);

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static AgentNode node;
  private static Path out;
  private static HttpServer hookServer;

  @BeforeAll
  static void startClusterAndAgent() throws IOException {
    DAEMON.importTestImage("busybox", CriProtos.BUSYBOX);
    node = AgentNode.start(DAEMON, "spawnlet-agent-lifecycle-e2e-");
    out = Files.createDirectories(node.base().resolve("out"));
    // The preStop httpGet hook's target: the agent makes the request from the node (loopback).
    hookServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    hookServer.createContext(
        "/",
        exchange -> {
          append(
              out.resolve("hooks/events"), "http-pre-stop " + exchange.getRequestURI().getPath());
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    hookServer.start();
    // Before any pod: the agent's first pod lists the Services, so this one is surely seen.
    node.kubectl("create", "service", "clusterip", "my-db", "--tcp=5432:5432");
    node.awaitNodeReady(SLOW);
  }

  @AfterAll
  static void stopAll() throws Exception {
    if (hookServer != null) {
      hookServer.stop(0);
    }
    if (node != null) {
      node.close();
    }
  }

  @Test
  @Order(1)
  void containersGetTheServiceLinkVariablesOfTheirNamespace() throws IOException {
    String clusterIp = node.field("service", "my-db", "{.spec.clusterIP}");
    String apiserverIp = node.field("service", "kubernetes", "{.spec.clusterIP}");
    node.apply(envPod("linked", "true") + "---\n" + envPod("unlinked", "false"));

    List<String> linked = envOf("linked");
    assertThat(linked)
        .contains(
            "MY_DB_SERVICE_HOST=" + clusterIp,
            "MY_DB_SERVICE_PORT=5432",
            "MY_DB_SERVICE_PORT_5432_5432=5432",
            "MY_DB_PORT=tcp://" + clusterIp + ":5432",
            "MY_DB_PORT_5432_TCP=tcp://" + clusterIp + ":5432",
            "MY_DB_PORT_5432_TCP_PROTO=tcp",
            "MY_DB_PORT_5432_TCP_PORT=5432",
            "MY_DB_PORT_5432_TCP_ADDR=" + clusterIp,
            "KUBERNETES_SERVICE_HOST=" + apiserverIp,
            "KUBERNETES_SERVICE_PORT=443",
            "KUBERNETES_SERVICE_PORT_HTTPS=443",
            "KUBERNETES_PORT=tcp://" + apiserverIp + ":443",
            // $(VAR) in the pod's own env sees the links
            "DB_URL=pg://" + clusterIp + ":5432");

    List<String> unlinked = envOf("unlinked");
    assertThat(unlinked)
        .contains("KUBERNETES_SERVICE_HOST=" + apiserverIp)
        .noneMatch(line -> line.startsWith("MY_DB_"));
    node.kubectl("delete", "pod", "linked", "unlinked", "--wait=true", "--timeout=110s");
  }

  @Test
  @Order(2)
  void postStartRunsAndPreStopHooksRunBeforeTheStopSignalOnDeletion() throws IOException {
    Path events = Files.createDirectories(out.resolve("hooks")).resolve("events");
    int port = hookServer.getAddress().getPort();
    node.apply(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: hooks}
        spec:
          terminationGracePeriodSeconds: 60
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          volumes: [{name: out, hostPath: {path: %s, type: Directory}}]
          containers:
          - name: exec-hook
            image: %s
            imagePullPolicy: Never
            command: ["sh", "-c", %s]
            volumeMounts: [{name: out, mountPath: /out}]
            lifecycle:
              postStart: {exec: {command: ["sh", "-c", "echo post-start >> /out/events"]}}
              preStop: {exec: {command: ["sh", "-c", "echo exec-pre-stop >> /out/events"]}}
          - name: http-hook
            image: %s
            imagePullPolicy: Never
            command: ["sh", "-c", %s]
            volumeMounts: [{name: out, mountPath: /out}]
            lifecycle:
              preStop: {httpGet: {host: 127.0.0.1, port: %d, path: /drain}}
          - name: sleep-hook
            image: %s
            imagePullPolicy: Never
            command: ["sh", "-c", %s]
            volumeMounts: [{name: out, mountPath: /out}]
            lifecycle:
              preStop: {sleep: {seconds: 5}}
          - name: plain
            image: %s
            imagePullPolicy: Never
            command: ["sh", "-c", %s]
            volumeMounts: [{name: out, mountPath: /out}]
        """
            .formatted(
                events.getParent(),
                CriProtos.BUSYBOX,
                quoted(trapping("exec-term")),
                CriProtos.BUSYBOX,
                quoted(trapping("http-term")),
                port,
                CriProtos.BUSYBOX,
                quoted(trapping("sleep-term")),
                CriProtos.BUSYBOX,
                quoted(trapping("plain-term"))));
    await("pod hooks Ready")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        node.field(
                            "pod", "hooks", "{.status.conditions[?(@.type==\"Ready\")].status}"))
                    .as(node.agentLogTail())
                    .isEqualTo("True"));
    await("postStart hook ran")
        .atMost(SLOW)
        .untilAsserted(
            () -> assertThat(lines(events)).as(node.agentLogTail()).contains("post-start"));

    node.kubectl("delete", "pod", "hooks", "--wait=true", "--timeout=110s");

    List<String> happened = lines(events);
    assertThat(happened)
        .as(node.agentLogTail())
        .contains(
            "exec-pre-stop",
            "exec-term",
            "http-pre-stop /drain",
            "http-term",
            "sleep-term",
            "plain-term");
    assertThat(happened.indexOf("exec-pre-stop")).isLessThan(happened.indexOf("exec-term"));
    assertThat(happened.indexOf("http-pre-stop /drain")).isLessThan(happened.indexOf("http-term"));
    // The sleep hook holds its container's stop signal back; a container without hooks gets it at
    // once.
    assertThat(happened.indexOf("plain-term")).isLessThan(happened.indexOf("sleep-term"));
    assertThat(node.agentLog()).contains("running the preStop hook of container sleep-hook");
  }

  /** A busybox pod that writes its environment to the hostPath file out/NAME/env. */
  private static String envPod(String name, String serviceLinks) throws IOException {
    Path dir = Files.createDirectories(out.resolve(name));
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: %s}
        spec:
          enableServiceLinks: %s
          terminationGracePeriodSeconds: 1
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          volumes: [{name: out, hostPath: {path: %s, type: Directory}}]
          containers:
          - name: main
            image: %s
            imagePullPolicy: Never
            command: ["sh", "-c", "env > /out/env.tmp && mv /out/env.tmp /out/env; exec sleep 3600"]
            env: [{name: DB_URL, value: "pg://$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT)"}]
            volumeMounts: [{name: out, mountPath: /out}]
        """
        .formatted(name, serviceLinks, dir, CriProtos.BUSYBOX);
  }

  private static List<String> envOf(String pod) {
    Path env = out.resolve(pod).resolve("env");
    await("pod " + pod + " wrote its environment").atMost(SLOW).until(() -> Files.exists(env));
    return lines(env);
  }

  /** sh as PID 1 that appends {@code word} to /out/events on SIGTERM, then exits. */
  private static String trapping(String word) {
    return "trap 'echo " + word + " >> /out/events; exit 0' TERM; sleep 86400 & wait";
  }

  private static String quoted(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static List<String> lines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void append(Path file, String line) throws IOException {
    Files.writeString(
        file,
        line + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND,
        StandardOpenOption.WRITE);
  }
}
