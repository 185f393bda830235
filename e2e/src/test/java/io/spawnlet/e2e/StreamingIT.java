package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import runtime.v1.ExecRequest;
import runtime.v1.PortForwardRequest;

/**
 * Exec, attach and port-forward through the daemon's streaming server, driven by crictl (SPDY, its
 * default transport, and WebSocket) the way an operator debugs a pod: a shell with a terminal under
 * {@code script}, piped stdin, attach to a container's own stdio, an HTTP request through a
 * forwarded port; then the bad cases: a reused URL and clients that vanish mid-stream.
 */
class StreamingIT {
  private static final String IMAGE = "docker.io/library/busybox:latest";
  private static final Duration SLOW = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Crictl crictl;
  private static CriConfigs configs;
  private static String pod;
  private static Path podConfig;
  private static String shell;
  private static String marker;

  @BeforeAll
  static void startPod() {
    crictl = DAEMON.crictl();
    configs = new CriConfigs(DAEMON.base().resolve("configs"), DAEMON.podLogs());
    DAEMON.importTestImage("busybox", IMAGE);
    marker = "streams-" + UUID.randomUUID().toString().substring(0, 8);
    podConfig = configs.pod("streams-" + marker);
    pod = crictl.runTrimmed("runp", podConfig.toString());
    shell =
        createAndStart(
            configs.container(
                "shell",
                IMAGE,
                List.of(
                    "sh",
                    "-c",
                    "mkdir -p /www && echo "
                        + marker
                        + " > /www/index.html && exec httpd -f -p 8080 -h /www")));
  }

  @AfterAll
  static void removePod() {
    if (pod != null) {
      crictl.tryRun("stopp", pod);
      crictl.tryRun("rmp", pod);
    }
  }

  @Test
  void execWithTerminalUnderScript() throws Exception {
    for (String transport : List.of("spdy", "websocket")) {
      String crictlLine =
          String.join(" ", crictl.command("exec", "-it", "-r", transport, shell, "sh"));
      Run run =
          run(
              List.of("script", "-qec", crictlLine, "/dev/null"),
              "echo in-$((6*7)) && tty\nexit 3\n");
      assertThat(run.output()).as(transport).contains("in-42").contains("/dev/pts/");
      // crictl reports the exit code from the error stream's Status (and exits 1 itself).
      assertThat(run.output()).as(transport).contains("command terminated with exit code 3");
    }
  }

  @Test
  void execWithPipedStdin() throws Exception {
    for (String transport : List.of("spdy", "websocket")) {
      Run run =
          run(
              crictl.command(
                  "exec", "-i", "-r", transport, shell, "sh", "-c", "tr a-z A-Z; exit 5"),
              "piped " + transport + "\n");
      assertThat(run.output()).contains("PIPED " + transport.toUpperCase());
      assertThat(run.output()).as(transport).contains("command terminated with exit code 5");
    }
    Run ok = run(crictl.command("exec", shell, "sh", "-c", "echo out; echo err >&2"), "");
    assertThat(ok.output()).contains("out").contains("err");
    assertThat(ok.exitCode()).isZero();
  }

  @Test
  void execRunsAsTheContainersUserAsExecSyncDoes() throws Exception {
    Path config =
        configs.container(
            "user-" + UUID.randomUUID().toString().substring(0, 6),
            IMAGE,
            List.of("sleep", "3600"));
    ObjectNode json = (ObjectNode) JSON.readTree(config.toFile());
    json.putObject("linux")
        .putObject("security_context")
        .putObject("run_as_user")
        .put("value", 1000);
    JSON.writeValue(config.toFile(), json);
    String user = createAndStart(config);
    assertThat(run(crictl.command("exec", user, "id", "-u"), "").output().strip())
        .isEqualTo("1000");
    assertThat(crictl.runTrimmed("exec", "-s", user, "id", "-u")).isEqualTo("1000");
    String terminal = String.join(" ", crictl.command("exec", "-it", user, "id", "-u"));
    assertThat(run(List.of("script", "-qec", terminal, "/dev/null"), "").output()).contains("1000");
    crictl.run("rm", "-f", user);
  }

  @Test
  void attachToTheContainersOwnStdio() throws Exception {
    String echo =
        createAndStart(
            configs.interactive(
                "echo-" + UUID.randomUUID().toString().substring(0, 6),
                IMAGE,
                List.of("sh", "-c", "while read l; do echo got-$l; done; echo bye"),
                false));
    Run run = run(crictl.command("attach", "-i", echo), "one\ntwo\n");
    assertThat(run.output()).contains("got-one").contains("got-two");
    await("the container ends with its stdin")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(crictl.json("inspect", echo).at("/status/state").asText())
                    .isEqualTo("CONTAINER_EXITED"));
    crictl.run("rm", echo);
  }

  @Test
  void portForwardCarriesHttp() throws Exception {
    assertThat(throughPortForward(pod, 8080, 3))
        .allSatisfy(body -> assertThat(body).contains(marker));
  }

  @Test
  void portForwardWakesASleepingSocketActivatedPod() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String sleepyMarker = "woken-" + suffix;
    Path sleepyConfig = configs.pod("sleepy-" + suffix);
    ObjectNode node = (ObjectNode) JSON.readTree(sleepyConfig.toFile());
    node.putObject("annotations")
        .put("spawnlet.io/activation", "socket")
        .put("spawnlet.io/idle-timeout", "3s")
        .put("spawnlet.io/activation-proxy", "80=8080");
    JSON.writeValue(sleepyConfig.toFile(), node);
    String sleepy = crictl.runTrimmed("runp", sleepyConfig.toString());
    try {
      Path httpd =
          configs.container(
              "httpd",
              IMAGE,
              List.of(
                  "sh",
                  "-c",
                  "mkdir -p /www && echo "
                      + sleepyMarker
                      + " > /www/index.html && exec httpd -f -p 8080 -h /www"));
      String ctr =
          crictl.runTrimmed(
              "create", "--no-pull", sleepy, httpd.toString(), sleepyConfig.toString());
      crictl.run("start", ctr);
      assertThat(activationState(sleepy)).isEqualTo("sleeping");
      assertThat(throughPortForward(sleepy, 80, 1))
          .allSatisfy(body -> assertThat(body).contains(sleepyMarker));
    } finally {
      crictl.tryRun("stopp", sleepy);
      crictl.tryRun("rmp", sleepy);
    }
  }

  @Test
  void portForwardOverWebSocketGivesEachPortADataAndAnErrorChannel() throws Exception {
    String url;
    try (CriClient client = DAEMON.newClient()) {
      // No ports in the CRI request: the client names them in the query, as the kubelet allows.
      url =
          client
              .runtime()
              .portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod).build())
              .getUrl();
    }
    try (ChannelWebSocket ws =
        ChannelWebSocket.connect(url + "?port=8080&port=1", "v4.channel.k8s.io")) {
      assertThat(ws.subprotocol()).isEqualTo("v4.channel.k8s.io");
      ws.send(0, "GET / HTTP/1.0\r\n\r\n");
      ws.awaitClose(SLOW);
      byte[] data = ws.bytes(0);
      // Each channel opens with its port, 2 bytes little-endian: 8080 = 0x1f90, 1 = 0x0001.
      assertThat(data).startsWith(0x90, 0x1f);
      assertThat(ws.text(0)).contains("200 OK").contains(marker);
      assertThat(ws.bytes(1)).containsExactly(0x90, 0x1f);
      assertThat(ws.bytes(2)).containsExactly(0x01, 0x00);
      assertThat(ws.text(3).substring(2)).contains("error forwarding").contains(":1");
    }
  }

  @Test
  void terminalResizesReachTheProcess() throws Exception {
    // Through crictl (SPDY and WebSocket): it sends the size of its own terminal, set by stty.
    for (String transport : List.of("spdy", "websocket")) {
      String crictlLine =
          String.join(" ", crictl.command("exec", "-it", "-r", transport, shell, "sh"));
      Run run =
          run(
              List.of("script", "-qec", "stty cols 123 rows 45; " + crictlLine, "/dev/null"),
              "stty size\nexit\n");
      assertThat(run.output()).as(transport).contains("45 123");
    }
    // Through a plain v5 WebSocket client: two resizes during one session, each seen by stty.
    String url;
    try (CriClient client = DAEMON.newClient()) {
      url =
          client
              .runtime()
              .exec(
                  ExecRequest.newBuilder()
                      .setContainerId(shell)
                      .addCmd("sh")
                      .setTty(true)
                      .setStdin(true)
                      .setStdout(true)
                      .build())
              .getUrl();
    }
    try (ChannelWebSocket ws = ChannelWebSocket.connect(url, "v5.channel.k8s.io")) {
      ws.send(4, "{\"Width\":91,\"Height\":17}");
      ws.send(0, "stty size\n");
      // The shell reads its input when it likes: the second size must wait for the first answer.
      await("stty answers the first size").atMost(SLOW).until(() -> ws.text(1).contains("17 91"));
      ws.send(4, "{\"Width\":132,\"Height\":50}");
      ws.send(0, "stty size; exit 7\n");
      ws.awaitClose(SLOW);
      assertThat(ws.text(1)).contains("50 132");
      assertThat(ws.text(3)).contains("NonZeroExitCode").contains("\"message\":\"7\"");
    }
  }

  private static String activationState(String pod) throws IOException {
    JsonNode info = crictl.json("inspectp", pod).at("/info/activation");
    return (info.isTextual() ? JSON.readTree(info.asText()) : info).path("state").asText();
  }

  /** The bodies of {@code requests} HTTP GETs through {@code crictl port-forward POD PORT}. */
  private static List<String> throughPortForward(String pod, int port, int requests)
      throws Exception {
    int local;
    try (ServerSocket s = new ServerSocket(0)) {
      local = s.getLocalPort();
    }
    Path log = Files.createTempFile(DAEMON.base(), "port-forward", ".log");
    Process forward =
        new ProcessBuilder(crictl.command("port-forward", pod, local + ":" + port))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      await("crictl port-forward listening")
          .atMost(SLOW)
          .until(() -> Files.readString(log).contains("Forwarding from"));
      List<String> bodies = new java.util.ArrayList<>();
      for (int i = 0; i < requests; i++) {
        Run curl = run(List.of("curl", "-sS", "-m", "30", "http://127.0.0.1:" + local + "/"), "");
        assertThat(curl.exitCode()).as(curl.output() + Files.readString(log)).isZero();
        bodies.add(curl.output());
      }
      return bodies;
    } finally {
      forward.destroy();
      forward.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aUrlWorksOnceThen404() throws Exception {
    String url;
    try (CriClient client = DAEMON.newClient()) {
      url =
          client
              .runtime()
              .exec(
                  ExecRequest.newBuilder()
                      .setContainerId(shell)
                      .addAllCmd(List.of("touch", "/reused-" + marker))
                      .setStdout(true)
                      .build())
              .getUrl();
    }
    assertThat(upgradeStatus(url)).isEqualTo(101);
    assertThat(upgradeStatus(url)).isEqualTo(404);
    assertThat(upgradeStatus(url.replaceAll("/[^/]+$", "/not-a-token"))).isEqualTo(404);
  }

  @Test
  void clientsThatVanishLeaveNothingBehind() throws Exception {
    long daemonPid = DAEMON.pid().orElseThrow();
    String sleeper = "600" + (100 + new java.util.Random().nextInt(800));
    // Warm up once so lazily opened daemon descriptors (jars, epoll) are in the baseline.
    run(crictl.command("exec", shell, "true"), "");
    int fdsBefore = openFds(daemonPid);
    for (int i = 0; i < 100; i++) {
      List<String> cmd =
          i % 2 == 0
              ? crictl.command("exec", "-i", shell, "sleep", sleeper)
              : List.of(
                  "script",
                  "-qec",
                  String.join(" ", crictl.command("exec", "-it", shell, "sleep", sleeper)),
                  "/dev/null");
      Process client =
          new ProcessBuilder(cmd)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectErrorStream(true)
              .start();
      await("exec " + i + " running")
          .atMost(SLOW)
          .pollInterval(Duration.ofMillis(20))
          .until(() -> processesRunning(sleeper) > 0);
      client.descendants().forEach(ProcessHandle::destroyForcibly);
      client.destroyForcibly().waitFor();
    }
    await("every exec'd process ended")
        .atMost(SLOW)
        .untilAsserted(() -> assertThat(processesRunning(sleeper)).isZero());
    await("the daemon's descriptors back to " + fdsBefore)
        .atMost(SLOW)
        .untilAsserted(() -> assertThat(openFds(daemonPid)).isLessThanOrEqualTo(fdsBefore));
  }

  private record Run(int exitCode, String output) {}

  private static Run run(List<String> command, String input) throws Exception {
    Path out = Files.createTempFile(DAEMON.base(), "stream", ".out");
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

  /** The status code of an upgrade request to {@code url}, as crictl would send it. */
  private static int upgradeStatus(String url) throws IOException {
    URI uri = URI.create(url);
    try (Socket s = new Socket(uri.getHost(), uri.getPort())) {
      s.setSoTimeout(30_000);
      String request =
          "POST "
              + uri.getPath()
              + " HTTP/1.1\r\nHost: "
              + uri.getAuthority()
              + "\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
              + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n";
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = in.read()) >= 0 && c != '\n') {
        line.append((char) c);
      }
      return Integer.parseInt(line.toString().split(" ")[1]);
    }
  }

  private static int openFds(long pid) throws IOException {
    try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return (int) fds.count();
    }
  }

  /** Processes (in any container) whose command line is {@code sleep <arg>}. */
  private static long processesRunning(String arg) throws IOException {
    byte[] wanted = ("sleep\0" + arg + "\0").getBytes(StandardCharsets.US_ASCII);
    long n = 0;
    try (var procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path p : procs) {
        try {
          if (java.util.Arrays.equals(Files.readAllBytes(p.resolve("cmdline")), wanted)) {
            n++;
          }
        } catch (IOException e) {
          // ended meanwhile
        }
      }
    }
    return n;
  }

  private static String createAndStart(Path containerConfig) {
    String id =
        crictl.runTrimmed(
            "create", "--no-pull", pod, containerConfig.toString(), podConfig.toString());
    crictl.run("start", id);
    return id;
  }
}
