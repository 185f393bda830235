package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Socket activation end to end: a pod annotated {@code spawnlet.io/activation: socket} sleeps with
 * its ports open (no process but the socket holder), wakes on the first connection or datagram with
 * the sockets passed as fds 3… (a static C server that only serves on passed fds), goes back to
 * sleep after the idle timeout, and keeps its sockets across a {@code kill -9} of the daemon.
 */
class ActivationIT {
  private static final String IMAGE = "docker.io/library/busybox:latest";
  private static final Duration SLOW = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int TCP_PORT = 8080;
  private static final int UDP_PORT = 5353;

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Crictl crictl;
  private static CriConfigs configs;
  private static Path server;

  @BeforeAll
  static void setUp() throws Exception {
    crictl = DAEMON.crictl();
    configs = new CriConfigs(DAEMON.base().resolve("configs"), DAEMON.podLogs());
    DAEMON.importTestImage("busybox", IMAGE);
    server = compileServer(DAEMON.base().resolve("bin"));
  }

  @Test
  void sleepingPodWakesServesSleepsAndSurvivesADaemonKill() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    Path podConfig = activatedPod("act-" + suffix);
    String pod = crictl.runTrimmed("runp", podConfig.toString());
    String ctr =
        crictl.runTrimmed(
            "create", "--no-pull", pod, serverContainer().toString(), podConfig.toString());
    crictl.run("start", ctr);
    String ip = crictl.json("inspectp", pod).at("/status/network/ip").asText();

    // Asleep: RUNNING to the CRI, no process in the pod but the holder.
    assertThat(crictl.json("inspect", ctr).at("/status/state").asText())
        .isEqualTo("CONTAINER_RUNNING");
    assertThat(activation(pod).path("state").asText()).isEqualTo("sleeping");
    int holder = activation(pod).path("holderPid").asInt();
    assertThat(processesInPodNetns(holder)).containsExactly((long) holder);

    // 200 concurrent connections to the sleeping pod: all served, none refused or reset.
    List<String> replies = concurrentRequests(ip, 200);
    assertThat(replies).hasSize(200).allMatch(r -> r.startsWith("HTTP/1.0 200 OK"), "200 OK");
    JsonNode awake = activation(pod);
    assertThat(awake.path("wakes").asLong()).isEqualTo(1);
    assertThat(crictl.json("inspect", ctr).at("/status/state").asText())
        .isEqualTo("CONTAINER_RUNNING");

    // Idle for the timeout: asleep again, nothing but the holder.
    awaitState(pod, "sleeping");
    assertThat(podLine(pod)).matches(".* sleeping +1 .*");
    assertThat(processesInPodNetns(holder)).containsExactly((long) holder);

    // A datagram wakes it too and is answered.
    assertThat(udpRoundTrip(ip, "ping")).isEqualTo("pong ping");
    awaitState(pod, "sleeping");

    // 10 cycles: wake, serve, sleep; no descriptors, mounts or processes pile up.
    long daemonPid = DAEMON.pid().orElseThrow();
    long fdsBefore = openFds(daemonPid);
    long mountsBefore = mountCount();
    List<Path> cgroupsAsleep = HostLeftovers.cgroupsNaming(List.of(pod, ctr));
    long wakesBefore = activation(pod).path("wakes").asLong();
    List<Long> coldMicros = new ArrayList<>();
    List<Long> warmMicros = new ArrayList<>();
    for (int cycle = 0; cycle < 10; cycle++) {
      long t0 = System.nanoTime();
      assertThat(request(ip)).startsWith("HTTP/1.0 200 OK");
      coldMicros.add((System.nanoTime() - t0) / 1000);
      t0 = System.nanoTime();
      assertThat(request(ip)).startsWith("HTTP/1.0 200 OK");
      warmMicros.add((System.nanoTime() - t0) / 1000);
      awaitState(pod, "sleeping");
      assertThat(processesInPodNetns(holder)).containsExactly((long) holder);
    }
    assertThat(activation(pod).path("wakes").asLong()).isEqualTo(wakesBefore + 10);
    // Figures for the report (not asserted): one request per connection, whole response.
    System.err.printf(
        "ActivationIT figures: cold wake request median %d us (min %d), awake request median %d"
            + " us, daemon-side wake latency (last) %s ms, sockets on %s%n",
        median(coldMicros),
        coldMicros.stream().mapToLong(Long::longValue).min().orElse(0),
        median(warmMicros),
        activation(pod).path("lastWakeLatencyMillis").asText(),
        activation(pod).path("address").asText());
    assertThat(openFds(daemonPid)).isLessThanOrEqualTo(fdsBefore + 4);
    assertThat(mountCount()).isEqualTo(mountsBefore);
    assertThat(HostLeftovers.cgroupsNaming(List.of(pod, ctr)))
        .containsExactlyInAnyOrderElementsOf(cgroupsAsleep);
    assertThat(crictl.json("inspect", ctr).at("/status/state").asText())
        .isEqualTo("CONTAINER_RUNNING");
    assertThat(metrics())
        .contains("spawnlet_activation_wakes_total")
        .contains("spawnlet_activation_sleeping_pods");

    // kill -9 of the daemon while the pod sleeps; a connection made during the outage waits in
    // the accept queue (the holder keeps the socket) and is served once the daemon is back.
    DAEMON.kill9();
    try (Socket during = new Socket()) {
      during.connect(new InetSocketAddress(ip, TCP_PORT), 5_000);
      during.setSoTimeout(60_000);
      during.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      DAEMON.start();
      assertThat(readAll(during.getInputStream())).startsWith("HTTP/1.0 200 OK");
    }
    assertThat(activation(pod).path("holderPid").asInt()).isEqualTo(holder);
    awaitState(pod, "sleeping");
    assertThat(request(ip)).startsWith("HTTP/1.0 200 OK");

    // kill -9 while the pod runs: after the restart the same process serves on (no restart),
    // and the pod still goes to sleep when idle. An open connection keeps it awake meanwhile
    // (the test server, single-threaded, waits for that connection's request).
    try (Socket held = new Socket()) {
      held.connect(new InetSocketAddress(ip, TCP_PORT), 10_000);
      held.setSoTimeout(60_000);
      await("pod awake").atMost(SLOW).until(() -> containerPid(ctr) > 0);
      long pid = containerPid(ctr);
      DAEMON.kill9();
      DAEMON.start();
      assertThat(activation(pod).path("state").asText()).isEqualTo("running");
      assertThat(containerPid(ctr)).isEqualTo(pid);
      held.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readAll(held.getInputStream())).contains("activated pid");
    }
    awaitState(pod, "sleeping");
    assertThat(request(ip)).startsWith("HTTP/1.0 200 OK");

    // Teardown: the holder goes with the pod.
    crictl.run("stop", ctr);
    assertThat(crictl.json("inspect", ctr).at("/status/state").asText())
        .isEqualTo("CONTAINER_EXITED");
    crictl.run("rm", ctr);
    crictl.run("stopp", pod);
    crictl.run("rmp", pod);
    await("holder " + holder + " gone")
        .atMost(SLOW)
        .until(() -> ProcessHandle.of(holder).map(p -> !p.isAlive()).orElse(true));
  }

  @Test
  void aHostPortWakesASleepingPodThroughThePortmapChain() throws Exception {
    int hostPort;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
      hostPort = probe.getLocalPort();
    }
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    Path podConfig = configs.pod("act-hostport-" + suffix);
    ObjectNode node = (ObjectNode) JSON.readTree(podConfig.toFile());
    // No activation-ports annotation: the activation port is the mapping's container port.
    node.putObject("annotations")
        .put("spawnlet.io/activation", "socket")
        .put("spawnlet.io/idle-timeout", "3s");
    node.putArray("port_mappings")
        .addObject()
        .put("container_port", TCP_PORT)
        .put("host_port", hostPort)
        .put("host_ip", "127.0.0.1");
    JSON.writeValue(podConfig.toFile(), node);
    String pod = crictl.runTrimmed("runp", podConfig.toString());
    String ctr =
        crictl.runTrimmed(
            "create", "--no-pull", pod, serverContainer().toString(), podConfig.toString());
    crictl.run("start", ctr);
    try {
      assertThat(activation(pod).path("state").asText()).isEqualTo("sleeping");
      assertThat(activation(pod).path("ports").toString()).contains(TCP_PORT + "/tcp");

      // Host loopback → portmap DNAT → pod IP:8080, the holder's socket: the pod wakes and serves.
      assertThat(request("127.0.0.1", hostPort)).startsWith("HTTP/1.0 200 OK");
      assertThat(activation(pod).path("wakes").asLong()).isEqualTo(1);
      awaitState(pod, "sleeping");
      // And again after it slept: the mapping outlives the sleep.
      assertThat(request("127.0.0.1", hostPort)).startsWith("HTTP/1.0 200 OK");
      assertThat(activation(pod).path("wakes").asLong()).isEqualTo(2);
    } finally {
      crictl.run("stopp", pod);
      crictl.run("rmp", pod);
    }
  }

  @Test
  void aBurstDuringPowerOffIsQueuedAndWakesThePodAgain() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    Path podConfig = activatedPod("act-poweroff-" + suffix);
    ObjectNode node = (ObjectNode) JSON.readTree(podConfig.toFile());
    ((ObjectNode) node.get("annotations"))
        .put("spawnlet.io/idle-timeout", "2s")
        .put("spawnlet.io/stop-timeout", "20s");
    JSON.writeValue(podConfig.toFile(), node);
    Path logFile = Path.of(node.path("log_directory").asText(), "server", "0.log");
    // The server stops serving on SIGTERM and exits 3 s later: a slow power-off.
    Path container = serverContainer();
    ObjectNode ctrNode = (ObjectNode) JSON.readTree(container.toFile());
    ((com.fasterxml.jackson.databind.node.ArrayNode) ctrNode.get("envs"))
        .addObject()
        .put("key", "STOP_DELAY_MS")
        .put("value", "3000");
    JSON.writeValue(container.toFile(), ctrNode);
    String pod = crictl.runTrimmed("runp", podConfig.toString());
    String ctr =
        crictl.runTrimmed("create", "--no-pull", pod, container.toString(), podConfig.toString());
    crictl.run("start", ctr);
    try {
      String ip = crictl.json("inspectp", pod).at("/status/network/ip").asText();
      assertThat(request(ip)).startsWith("HTTP/1.0 200 OK");
      long pid = containerPid(ctr);

      // Idle timeout: the stop signal arrives; while the server takes its time to exit, 200
      // connections arrive. None is refused or reset: they wait for the next wake.
      await("SIGTERM to the server (its log says terminating)")
          .atMost(SLOW)
          .pollInterval(Duration.ofMillis(50))
          .until(() -> Files.exists(logFile) && Files.readString(logFile).contains("terminating"));
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).contains(true);
      List<String> replies = concurrentRequests(ip, 200);
      assertThat(replies).hasSize(200).allMatch(r -> r.startsWith("HTTP/1.0 200 OK"), "200 OK");
      assertThat(activation(pod).path("wakes").asLong()).isEqualTo(2);
      assertThat(containerPid(ctr)).isNotEqualTo(pid);
      awaitState(pod, "sleeping");
      assertThat(crictl.json("inspect", ctr).at("/status/state").asText())
          .isEqualTo("CONTAINER_RUNNING");
    } finally {
      crictl.run("stopp", pod);
      crictl.run("rmp", pod);
    }
  }

  @Test
  void proxyModeServesAnAppThatListensOnItsOwnPort() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String marker = "proxied-" + suffix;
    Path podConfig = configs.pod("proxy-" + suffix);
    ObjectNode node = (ObjectNode) JSON.readTree(podConfig.toFile());
    node.putObject("annotations")
        .put("spawnlet.io/activation", "socket")
        .put("spawnlet.io/idle-timeout", "3s")
        .put("spawnlet.io/activation-proxy", "80=8080");
    JSON.writeValue(podConfig.toFile(), node);
    String pod = crictl.runTrimmed("runp", podConfig.toString());
    Path httpd =
        configs.container(
            "httpd",
            IMAGE,
            List.of(
                "sh",
                "-c",
                "mkdir -p /www && echo "
                    + marker
                    + " > /www/index.html && exec httpd -f -p 8080 -h /www"));
    String ctr =
        crictl.runTrimmed("create", "--no-pull", pod, httpd.toString(), podConfig.toString());
    crictl.run("start", ctr);
    String ip = crictl.json("inspectp", pod).at("/status/network/ip").asText();
    assertThat(activation(pod).path("state").asText()).isEqualTo("sleeping");

    for (int wake = 1; wake <= 2; wake++) {
      assertThat(request(ip, 80)).startsWith("HTTP/1.1 200 OK").contains(marker);
      awaitState(pod, "sleeping");
      assertThat(activation(pod).path("wakes").asLong()).isEqualTo(wake);
    }

    crictl.run("stop", ctr);
    crictl.run("rm", ctr);
    crictl.run("stopp", pod);
    crictl.run("rmp", pod);
  }

  @Test
  void invalidAnnotationsAreRejectedNamingTheAnnotation() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    Path config = configs.pod("bad-" + suffix);
    ObjectNode node = (ObjectNode) JSON.readTree(config.toFile());
    node.putObject("annotations")
        .put("spawnlet.io/activation", "socket")
        .put("spawnlet.io/idle-timeout", "soon")
        .put("spawnlet.io/activation-ports", "8080/tcp");
    JSON.writeValue(config.toFile(), node);
    Crictl.Result r = crictl.tryRun("runp", config.toString());
    assertThat(r.grpcCode()).isEqualTo("InvalidArgument");
    assertThat(r.stderr()).contains("spawnlet.io/idle-timeout");
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** The container's pid as its verbose status reports it; 0 while its pod sleeps. */
  private static long containerPid(String ctr) {
    return crictl.json("inspect", ctr).at("/info/pid").asLong();
  }

  private static long median(List<Long> values) {
    List<Long> sorted = values.stream().sorted().toList();
    return sorted.get(sorted.size() / 2);
  }

  /** The pod's line in {@code spawnlet pods}. */
  private static String podLine(String pod) {
    return DAEMON
        .pods()
        .lines()
        .filter(l -> l.startsWith(pod.substring(0, 13)))
        .findFirst()
        .orElseThrow(() -> new AssertionError("pod " + pod + " not in spawnlet pods"));
  }

  private static Path activatedPod(String name) throws IOException {
    Path config = configs.pod(name);
    ObjectNode node = (ObjectNode) JSON.readTree(config.toFile());
    node.putObject("annotations")
        .put("spawnlet.io/activation", "socket")
        .put("spawnlet.io/idle-timeout", "3s")
        .put("spawnlet.io/activation-ports", TCP_PORT + "/tcp," + UDP_PORT + "/udp");
    JSON.writeValue(config.toFile(), node);
    return config;
  }

  private static Path serverContainer() throws IOException {
    Path config = configs.container("server", IMAGE, List.of("/listen-fds-server"));
    ObjectNode node = (ObjectNode) JSON.readTree(config.toFile());
    node.putArray("mounts")
        .addObject()
        .put("container_path", "/listen-fds-server")
        .put("host_path", server.toString())
        .put("readonly", true);
    JSON.writeValue(config.toFile(), node);
    return config;
  }

  static Path compileServer(Path dir) throws Exception {
    Files.createDirectories(dir);
    Path source = dir.resolve("listen-fds-server.c");
    try (InputStream in =
        ActivationIT.class.getResourceAsStream("/activation/listen-fds-server.c")) {
      Files.copy(in, source);
    }
    Path binary = dir.resolve("listen-fds-server");
    Process gcc =
        new ProcessBuilder("gcc", "-static", "-O2", "-o", binary.toString(), source.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(gcc.waitFor()).as("gcc: %s", out).isZero();
    return binary;
  }

  private static JsonNode activation(String pod) {
    // crictl shows the verbose info's "info" entry, decoded, as "info".
    JsonNode info = crictl.json("inspectp", pod).at("/info/activation");
    try {
      return info.isTextual() ? JSON.readTree(info.asText()) : info;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void awaitState(String pod, String state) {
    await("pod " + pod + " " + state)
        .atMost(SLOW)
        .pollInterval(Duration.ofMillis(200))
        .until(() -> activation(pod).path("state").asText().equals(state));
  }

  private static List<String> concurrentRequests(String ip, int n) throws Exception {
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<String>> replies = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        replies.add(pool.submit((Callable<String>) () -> request(ip)));
      }
      List<String> out = new ArrayList<>();
      for (Future<String> f : replies) {
        out.add(f.get());
      }
      return out;
    }
  }

  private static String request(String ip) throws IOException {
    return request(ip, TCP_PORT);
  }

  private static String request(String ip, int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(ip, port), 10_000);
      s.setSoTimeout(60_000);
      s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      return readAll(s.getInputStream());
    }
  }

  private static String readAll(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }

  private static String udpRoundTrip(String ip, String text) throws IOException {
    try (DatagramSocket s = new DatagramSocket()) {
      s.setSoTimeout(60_000);
      byte[] out = text.getBytes(StandardCharsets.UTF_8);
      s.send(new DatagramPacket(out, out.length, InetAddress.getByName(ip), UDP_PORT));
      byte[] in = new byte[512];
      DatagramPacket reply = new DatagramPacket(in, in.length);
      s.receive(reply);
      return new String(in, 0, reply.getLength(), StandardCharsets.UTF_8);
    }
  }

  /** Every process whose network namespace is the holder's (= the pod's). */
  private static Set<Long> processesInPodNetns(int holder) throws IOException {
    Path podNetns = Files.readSymbolicLink(Path.of("/proc/" + holder + "/ns/net"));
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs
          .filter(p -> p.getFileName().toString().matches("\\d+"))
          .filter(
              p -> {
                try {
                  return Files.readSymbolicLink(p.resolve("ns/net")).equals(podNetns);
                } catch (IOException e) {
                  return false;
                }
              })
          .map(p -> Long.parseLong(p.getFileName().toString()))
          .collect(Collectors.toSet());
    }
  }

  private static long openFds(long pid) throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.count();
    }
  }

  private static long mountCount() throws IOException {
    return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
        .filter(l -> l.contains(DAEMON.base().toString()))
        .count();
  }

  private static String metrics() throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + DAEMON.metricsPort() + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }
}
