package io.spawnlet.cri.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cni.PortMapping;
import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PodNetwork over shell-script plugins (real executables that log their calls and print a fixed
 * result), so set-up, rollback, tear-down, status and readiness run without root.
 */
class PodNetworkTest {
  @TempDir Path tmp;
  Path confDir;
  Path bin;
  Path log;
  final PodRef pod = new PodRef("default", "web", "uid-1");

  @BeforeEach
  void setUp() throws IOException {
    confDir = Files.createDirectories(tmp.resolve("net.d"));
    bin = Files.createDirectories(tmp.resolve("bin"));
    log = Files.createDirectories(tmp.resolve("log"));
    plugin("loopback", "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"lo\"}],\"ips\":[]}");
    plugin(
        "dual",
        "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"fd00::7/64\"},{\"address\":\"10.1.0.7/24\"},"
            + "{\"address\":\"10.1.1.7/24\"}]}");
    // Fails ADD the spec's way; DEL of what it never made succeeds, as the spec asks of plugins.
    script(
        "broken",
        "cat >/dev/null\n"
            + "echo \"broken $CNI_COMMAND $CNI_IFNAME netns=$CNI_NETNS\" >> "
            + log
            + "/calls\n"
            + "[ \"$CNI_COMMAND\" = DEL ] && exit 0\n"
            + "echo '{\"code\":11,\"msg\":\"no addresses left\"}'\nexit 1\n");
  }

  private void plugin(String name, String result) throws IOException {
    script(
        name,
        "cat >/dev/null\n"
            + "echo \""
            + name
            + " $CNI_COMMAND $CNI_IFNAME netns=$CNI_NETNS args=$CNI_ARGS\" >> "
            + log
            + "/calls\n"
            + "if [ \"$CNI_COMMAND\" = ADD ]; then printf '%s' '"
            + result
            + "'; fi\n");
  }

  private void script(String name, String body) throws IOException {
    Path p = bin.resolve(name);
    Files.writeString(p, "#!/bin/sh\n" + body);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private void conflist(String file, String... types) throws IOException {
    StringBuilder plugins = new StringBuilder();
    for (String t : types) {
      plugins.append(plugins.isEmpty() ? "" : ",").append("{\"type\":\"").append(t).append("\"}");
    }
    Files.writeString(
        confDir.resolve(file),
        "{\"cniVersion\":\"1.0.0\",\"name\":\"podnet\",\"plugins\":[" + plugins + "]}");
  }

  private PodNetwork podNetwork(boolean useDefault) {
    return new PodNetwork(
        new NetworkSettings(
            List.of(confDir),
            List.of(bin),
            tmp.resolve("state"),
            useDefault,
            "spwt0",
            "10.89.0.0/16",
            Duration.ofSeconds(20)));
  }

  private List<String> calls() throws IOException {
    return Files.readAllLines(log.resolve("calls"));
  }

  @Test
  void setUpRunsLoopbackThenTheNetworkAndStatusReadsTheCache() throws IOException {
    conflist("10-podnet.conflist", "dual");
    Path netns = tmp.resolve("netns");
    Files.createFile(netns);

    PodNetworkStatus status =
        podNetwork(false).setUp("sb1", netns, pod, List.of(new PortMapping(8080, 80, "tcp", "")));

    assertThat(status.ips()).containsExactly("10.1.0.7", "10.1.1.7", "fd00::7");
    assertThat(status.primaryIp()).contains("10.1.0.7");
    assertThat(calls())
        .containsExactly(
            "loopback ADD lo netns=" + netns + " args=",
            "dual ADD eth0 netns="
                + netns
                + " args=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                + "K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=uid-1");
    // A new instance (daemon restart) reads the status from the cache.
    assertThat(podNetwork(false).status("sb1")).contains(status);
    assertThat(podNetwork(false).status("other")).isEmpty();
  }

  @Test
  void tearDownUsesTheCachedConfigIsIdempotentAndPassesNoNamespaceWhenItIsGone()
      throws IOException {
    conflist("10-podnet.conflist", "dual");
    Path netns = tmp.resolve("netns");
    Files.createFile(netns);
    podNetwork(false).setUp("sb2", netns, pod, List.of());
    // The installed config changes; tear-down still undoes what set-up did.
    conflist("05-other.conflist", "broken");
    Files.delete(log.resolve("calls"));

    PodNetwork restarted = podNetwork(false);
    restarted.tearDown("sb2", netns, pod, List.of());
    restarted.tearDown("sb2", tmp.resolve("gone"), pod, List.of());

    assertThat(calls().get(0)).startsWith("dual DEL eth0 netns= args=IgnoreUnknown=1;");
    assertThat(calls().get(1)).isEqualTo("loopback DEL lo netns= args=");
    assertThat(calls().get(2)).startsWith("broken").as("nothing cached: the current network");
    assertThat(restarted.status("sb2")).isEmpty();
  }

  @Test
  void failedSetUpIsUndoneAndReportedWithTheHint() throws IOException {
    conflist("10-podnet.conflist", "dual", "broken");
    Path netns = tmp.resolve("netns");
    Files.createFile(netns);
    PodNetwork network = podNetwork(false);

    assertThatThrownBy(() -> network.setUp("sb3", netns, pod, List.of()))
        .isInstanceOfSatisfying(
            CriException.class, e -> assertThat(e.kind()).isEqualTo(CriException.Kind.INTERNAL))
        .hasMessageContaining("pod sandbox sb3 (default/web)")
        .hasMessageContaining("CNI plugin \"broken\" failed ADD")
        .hasMessageContaining("code 11: no addresses left")
        .hasMessageContaining(confDir.resolve("10-podnet.conflist").toString());

    assertThat(calls())
        .extracting(l -> l.substring(0, l.indexOf(" netns")))
        .containsExactly(
            "loopback ADD lo",
            "dual ADD eth0",
            "broken ADD eth0",
            "broken DEL eth0",
            "dual DEL eth0",
            "loopback DEL lo");
    assertThat(network.status("sb3")).isEmpty();
  }

  @Test
  void readiness() throws IOException {
    assertThat(podNetwork(false).readiness())
        .satisfies(r -> assertThat(r.ready()).isFalse())
        .satisfies(r -> assertThat(r.reason()).isEqualTo(NetworkReadiness.NOT_READY_REASON))
        .satisfies(r -> assertThat(r.message()).contains("no CNI network config found"));

    // The default network needs bridge and portmap, which this plugin dir lacks.
    assertThat(podNetwork(true).readiness().message())
        .contains("CNI plugin(s) [bridge, portmap] needed by (spawnlet default network")
        .contains(bin.toString());

    Files.writeString(confDir.resolve("00-bad.conflist"), "{\"name\":\"x\"}");
    assertThat(podNetwork(true).readiness().message())
        .contains("invalid CNI network config")
        .contains("00-bad.conflist: cniVersion: missing");
    Files.delete(confDir.resolve("00-bad.conflist"));

    conflist("10-podnet.conflist", "dual");
    assertThat(podNetwork(false).readiness()).isEqualTo(NetworkReadiness.isReady());
  }
}
