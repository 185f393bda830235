package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The CRI runtime core end to end, the way an operator debugs a node: the real daemon, the real
 * crictl, the busybox test image, crun, conmon and the CNI plugins. Two pods: the first serves HTTP
 * on its IP and logs, the second fetches from the first across the bridge.
 */
class CrictlScenarioIT {
  private static final String IMAGE = "docker.io/library/busybox:latest";
  private static final Duration SLOW = Duration.ofSeconds(60);

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Crictl crictl;
  private static CriConfigs configs;

  @BeforeAll
  static void importBusybox() {
    crictl = DAEMON.crictl();
    configs = new CriConfigs(DAEMON.base().resolve("configs"), DAEMON.podLogs());
    DAEMON.importTestImage("busybox", IMAGE);
    assertThat(crictl.run("images")).contains("docker.io/library/busybox");
  }

  @Test
  void podsRunServeAndGoAwayCleanly() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    List<String> ids = new ArrayList<>();
    String marker = "spawnlet-e2e-" + suffix;

    // Pod 1: an HTTP server and a container that logs.
    String uid1 = UUID.randomUUID().toString();
    String uid2 = UUID.randomUUID().toString();
    // Names and uids too: a runtime may name its netns or files after either.
    ids.addAll(List.of("web-" + suffix, "client-" + suffix, uid1, uid2));
    Path podConfig1 = configs.pod("web-" + suffix, "default", uid1);
    String pod1 = crictl.runTrimmed("runp", podConfig1.toString());
    ids.add(pod1);
    assertThat(pod1).matches("[0-9a-f]{12,}");
    String httpd =
        createAndStart(
            pod1,
            podConfig1,
            configs.container(
                "httpd",
                IMAGE,
                List.of(
                    "sh",
                    "-c",
                    "mkdir -p /www && echo "
                        + marker
                        + " > /www/index.html"
                        + " && exec httpd -f -p 8080 -h /www")));
    String printer =
        createAndStart(
            pod1,
            podConfig1,
            configs.container(
                "printer",
                IMAGE,
                List.of("sh", "-c", "for i in 1 2 3; do echo line-$i; done; exec sleep 3600")));
    ids.add(httpd);
    ids.add(printer);

    // ps / inspect: both running, in pod 1, of our image.
    JsonNode containers = crictl.json("ps", "-o", "json", "--pod", pod1);
    assertThat(containers.path("containers").findValuesAsText("id"))
        .containsExactlyInAnyOrder(httpd, printer);
    containers
        .path("containers")
        .forEach(c -> assertThat(c.path("state").asText()).isEqualTo("CONTAINER_RUNNING"));
    JsonNode inspected = crictl.json("inspect", httpd);
    assertThat(inspected.at("/status/state").asText()).isEqualTo("CONTAINER_RUNNING");
    assertThat(inspected.at("/status/metadata/name").asText()).isEqualTo("httpd");
    assertThat(inspected.at("/status/image/image").asText()).contains("busybox");

    // exec -s (ExecSync) and logs.
    // crictl prints stdout and stderr each followed by a newline
    assertThat(crictl.run("exec", "-s", printer, "echo", "hi")).isEqualTo("hi\n\n\n");
    await("printer's lines in crictl logs")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(crictl.run("logs", printer).lines())
                    .containsSubsequence("line-1", "line-2", "line-3"));

    // stats / statsp name our container and pod.
    JsonNode stats = crictl.json("stats", "-o", "json", "--id", httpd);
    assertThat(stats.path("stats").findValuesAsText("id")).contains(httpd);
    JsonNode podStats = crictl.json("statsp", "-o", "json", "--id", pod1);
    assertThat(podStats.path("stats").findValuesAsText("id")).contains(pod1);

    // inspectp: ready, with an IPv4 address in the daemon's subnet.
    JsonNode pod1Status = crictl.json("inspectp", pod1);
    assertThat(pod1Status.at("/status/state").asText()).isEqualTo("SANDBOX_READY");
    String ip1 = pod1Status.at("/status/network/ip").asText();
    assertThat(InetAddress.getByName(ip1)).isInstanceOf(Inet4Address.class);
    assertThat(inSubnet(ip1, DAEMON.subnet())).as("%s in %s", ip1, DAEMON.subnet()).isTrue();

    // The host reaches pod 1 on its IP.
    PodHttp.awaitBody("http://" + ip1 + ":8080/", SLOW, body -> assertThat(body).contains(marker));

    // Pod 2 reaches pod 1 across the bridge.
    Path podConfig2 = configs.pod("client-" + suffix, "default", uid2);
    String pod2 = crictl.runTrimmed("runp", podConfig2.toString());
    ids.add(pod2);
    String client =
        createAndStart(
            pod2, podConfig2, configs.container("client", IMAGE, List.of("sleep", "3600")));
    ids.add(client);
    String ip2 = crictl.json("inspectp", pod2).at("/status/network/ip").asText();
    assertThat(ip2).isNotEqualTo(ip1);
    await("pod 2 fetching http://" + ip1 + ":8080/")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        crictl.run(
                            "exec",
                            "-s",
                            client,
                            // Debian's static busybox wget crashes (SIGSEGV) on any URL;
                            // nc speaks enough HTTP/1.0.
                            "sh",
                            "-c",
                            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 " + ip1 + " 8080"))
                    .contains(marker));

    // Tear down in the order the kubelet does.
    for (String container : List.of(httpd, printer, client)) {
      crictl.run("stop", container);
      assertThat(crictl.json("inspect", container).at("/status/state").asText())
          .isEqualTo("CONTAINER_EXITED");
      crictl.run("rm", container);
    }
    for (String pod : List.of(pod1, pod2)) {
      crictl.run("stopp", pod);
      crictl.run("rmp", pod);
    }
    assertThat(crictl.runTrimmed("ps", "-a", "-q")).isEmpty();
    assertThat(crictl.runTrimmed("pods", "-q")).isEmpty();
    assertThat(crictl.tryRun("inspectp", pod1).grpcCode()).isEqualTo("NotFound");

    // Nothing of the pods is left on the host, with the daemon still up...
    assertThat(HostLeftovers.netnsFilesNaming(ids)).isEmpty();
    assertThat(HostLeftovers.netnsMountsNaming(ids)).isEmpty();
    assertThat(HostLeftovers.iptablesRulesNaming(ids)).isEmpty();
    assertThat(HostLeftovers.bridgePorts(DAEMON.bridge())).as("veths on the bridge").isEmpty();
    assertThat(HostLeftovers.mountsUnder(DAEMON.base()))
        .as("mounts of removed pods")
        .noneMatch(mount -> ids.stream().anyMatch(id -> mount.toString().contains(id)));
    // ...nor anything at all once it has stopped.
    DAEMON.stop();
    assertThat(HostLeftovers.mountsUnder(DAEMON.base())).isEmpty();
    assertThat(HostLeftovers.processesUsing(DAEMON.base()))
        .extracting(HostLeftovers::describe)
        .isEmpty();
  }

  private static String createAndStart(String pod, Path podConfig, Path containerConfig) {
    String id =
        crictl.runTrimmed(
            "create", "--no-pull", pod, containerConfig.toString(), podConfig.toString());
    crictl.run("start", id);
    return id;
  }

  private static boolean inSubnet(String ip, String cidr) throws Exception {
    String[] parts = cidr.split("/");
    int prefix = Integer.parseInt(parts[1]);
    int mask = prefix == 0 ? 0 : -1 << (32 - prefix);
    return (toInt(ip) & mask) == (toInt(parts[0]) & mask);
  }

  private static int toInt(String ipv4) throws Exception {
    byte[] b = InetAddress.getByName(ipv4).getAddress();
    return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
  }
}
