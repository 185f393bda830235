package io.spawnlet.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default network with the real plugins (Debian's containernetworking-plugins) on real network
 * namespaces. Names are unique per run (bridge {@code spwtXXXX}, netns {@code
 * spawnlet-test-XXXX-*}, a random 10.2xx.y.0/24) so it can run beside other tests; everything it
 * creates is removed afterwards. Needs root.
 */
class CniRuntimeIT {
  private static final List<Path> PLUGIN_DIRS =
      List.of(Path.of("/usr/lib/cni"), Path.of("/opt/cni/bin"));

  @TempDir Path tmp;
  String suffix;
  String bridge;
  String subnetPrefix;
  Path ipamDir;
  Path cacheDir;
  CniConfigList network;
  final List<String> namespaces = new ArrayList<>();
  final List<Process> processes = new ArrayList<>();

  @BeforeEach
  void setUp() {
    SecureRandom random = new SecureRandom();
    byte[] b = new byte[2];
    random.nextBytes(b);
    suffix = HexFormat.of().formatHex(b);
    bridge = "spwt" + suffix;
    subnetPrefix = "10." + (200 + random.nextInt(50)) + "." + random.nextInt(256);
    ipamDir = tmp.resolve("networks");
    cacheDir = tmp.resolve("cache");
    network =
        new DefaultNetwork("spwt-" + suffix, bridge, subnetPrefix + ".0/24", ipamDir).configList();
  }

  @AfterEach
  void cleanUp() throws Exception {
    processes.forEach(Process::destroyForcibly);
    for (String ns : namespaces) {
      // DEL once more (idempotent) so iptables rules of a failed test do not outlive it.
      try {
        runtime().del(network, conf(ns, "").withNetnsPath(""));
      } catch (CniException ignored) {
        // best effort
      }
      run(false, "ip", "netns", "del", ns);
    }
    run(false, "ip", "link", "del", bridge);
    removeLeftoverMasqueradeRules();
  }

  /** Rules the bridge plugin leaves when DEL runs after its namespace is gone (see the test). */
  private void removeLeftoverMasqueradeRules() throws Exception {
    String marker = "id: \"spawnlet-test-" + suffix + "-";
    List<String> lines =
        run(false, "iptables", "-t", "nat", "-L", "POSTROUTING", "-n", "--line-numbers")
            .lines()
            .toList();
    List<String[]> ours = new ArrayList<>();
    for (String line : lines) {
      if (line.contains(marker)) {
        ours.add(line.trim().split("\\s+"));
      }
    }
    java.util.Collections.reverse(ours);
    for (String[] rule : ours) {
      run(false, "iptables", "-t", "nat", "-D", "POSTROUTING", rule[0]);
      if (rule[1].startsWith("CNI-")) {
        run(false, "iptables", "-t", "nat", "-F", rule[1]);
        run(false, "iptables", "-t", "nat", "-X", rule[1]);
      }
    }
  }

  private CniRuntime runtime() {
    return new CniRuntime(PLUGIN_DIRS, cacheDir, Duration.ofSeconds(30));
  }

  private String netns(String name) throws Exception {
    String ns = "spawnlet-test-" + suffix + "-" + name;
    run(true, "ip", "netns", "add", ns);
    namespaces.add(ns);
    return ns;
  }

  private static RuntimeConf conf(String ns, String netnsPath, PortMapping... ports) {
    return new RuntimeConf(
        ns, netnsPath, "eth0", Map.of("IgnoreUnknown", "1", "K8S_POD_NAME", ns), List.of(ports));
  }

  private static String path(String ns) {
    return "/run/netns/" + ns;
  }

  private static CniConfigList loopback() {
    return CniConfigLoader.parse(
        "{\"cniVersion\":\"1.0.0\",\"name\":\"cni-loopback\",\"plugins\":[{\"type\":\"loopback\"}]}",
        java.util.Optional.empty());
  }

  @Test
  void addConnectsPodsDelReleasesAndTheCacheOutlivesARestart() throws Exception {
    String a = netns("a");
    String b = netns("b");
    CniRuntime runtime = runtime();
    int hostPort = 20000 + new SecureRandom().nextInt(20000);

    runtime.add(loopback(), new RuntimeConf(a, path(a), "lo", Map.of(), List.of()));
    CniResult ra =
        runtime.add(network, conf(a, path(a), new PortMapping(hostPort, 80, "tcp", "127.0.0.1")));
    CniResult rb = runtime.add(network, conf(b, path(b)));

    String ipA = ra.ips().get(0).ip();
    String ipB = rb.ips().get(0).ip();
    assertThat(ipA).startsWith(subnetPrefix + ".").isNotEqualTo(ipB);
    assertThat(ipB).startsWith(subnetPrefix + ".");
    assertThat(ra.ips().get(0).gateway()).contains(subnetPrefix + ".1");
    assertThat(run(true, "ip", "netns", "exec", a, "ip", "-4", "addr", "show", "dev", "eth0"))
        .contains(ra.ips().get(0).address());
    assertThat(run(true, "ip", "netns", "exec", a, "ip", "link", "show", "lo")).contains("UP");
    run(true, "busybox", "ping", "-c", "1", "-W", "5", ipA);
    run(true, "ip", "netns", "exec", a, "busybox", "ping", "-c", "1", "-W", "5", ipB);
    Path leaseA = ipamDir.resolve(network.name()).resolve(ipA);
    assertThat(leaseA).exists();

    // portmap: 127.0.0.1:hostPort on the host reaches port 80 in pod a.
    processes.add(
        new ProcessBuilder(
                "ip",
                "netns",
                "exec",
                a,
                "busybox",
                "nc",
                "-ll",
                "-p",
                "80",
                "-e",
                "echo",
                "hello-" + suffix)
            .redirectErrorStream(true)
            .start());
    assertThat(readLineFrom("127.0.0.1", hostPort)).isEqualTo("hello-" + suffix);
    assertThat(run(true, "iptables-save", "-t", "nat")).contains(a);

    // DEL from a fresh runtime (a daemon restart): the cache supplies prevResult and port mappings.
    CniRuntime restarted = runtime();
    assertThat(restarted.cachedResult(network, conf(a, path(a))))
        .map(CniResult::json)
        .contains(ra.json());
    restarted.del(network, conf(a, path(a)));
    restarted.del(loopback(), new RuntimeConf(a, path(a), "lo", Map.of(), List.of()));
    assertThat(leaseA).doesNotExist();
    assertThat(restarted.cachedResult(network, conf(a, path(a)))).isEmpty();
    assertThat(run(true, "iptables-save", "-t", "nat")).doesNotContain(a);
    assertThat(run(true, "ip", "netns", "exec", a, "ip", "link")).doesNotContain("eth0");
    restarted.del(network, conf(a, path(a)));

    // DEL after the namespace is gone: the lease goes. (The bridge plugin finds the addresses of
    // its masquerade rule in the namespace, so that rule stays: tear down before removing netns.)
    run(true, "ip", "netns", "del", b);
    restarted.del(network, conf(b, ""));
    assertThat(ipamDir.resolve(network.name()).resolve(ipB)).doesNotExist();
    assertThat(restarted.cachedResult(network, conf(b, ""))).isEmpty();

    // Re-ADD after all that, CHECK, then GC with nothing valid removes it.
    CniResult again = runtime().add(network, conf(a, path(a)));
    runtime().check(network, conf(a, path(a)));
    runtime().gc(network, List.of());
    assertThat(ipamDir.resolve(network.name()).resolve(again.ips().get(0).ip())).doesNotExist();
    assertThat(runtime().cachedAttachments()).isEmpty();
  }

  @Test
  void pluginErrorReachesTheCaller() throws Exception {
    String a = netns("bad");
    CniConfigList broken =
        CniConfigLoader.parse(
            network.toJson().toString().replace(subnetPrefix + ".0/24", "10.300.0.0/24"),
            java.util.Optional.empty());
    assertThatThrownBy(() -> runtime().add(broken, conf(a, path(a))))
        .isInstanceOfSatisfying(
            PluginException.class, e -> assertThat(e.plugin()).isEqualTo("bridge"))
        .hasMessageContaining("CNI plugin \"bridge\" failed ADD")
        .hasMessageContaining("10.300.0.0");
    assertThat(runtime().cachedAttachments()).isEmpty();
  }

  private static String readLineFrom(String host, int port) throws Exception {
    IOException last = null;
    for (int i = 0; i < 100; i++) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(host, port), 2000);
        s.setSoTimeout(5000);
        String line =
            new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
        if (line != null) {
          return line;
        }
      } catch (IOException e) {
        last = e;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("nothing answered on " + host + ":" + port, last);
  }

  private static String run(boolean check, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    if (check && rc != 0) {
      throw new AssertionError(String.join(" ", cmd) + " exited " + rc + ": " + out);
    }
    return out;
  }
}
