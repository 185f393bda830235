package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * charts/spawnlet through the real clients: helm (built by scripts/helm-tool.sh) lints it and its
 * schema refuses bad values; what it renders is accepted by a real kube-apiserver v1.34
 * (server-side dry run, so admission and validation of every object run); and a release installs
 * and uninstalls cleanly on that apiserver (without its pre-delete hook, which needs a node to
 * run).
 */
@KubernetesSuite
class HelmChartIT {
  private static final Duration HELM_TIMEOUT = Duration.ofMinutes(3);

  @TempDir static Path work;
  private static ControlPlane controlPlane;

  @BeforeAll
  static void startControlPlane() {
    controlPlane = ControlPlane.start(work.resolve("control-plane"));
  }

  @AfterAll
  static void stopControlPlane() {
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  @Test
  void lintsCleanWithDefaultsAndWithEveryOptionalPartOn() {
    helm("lint", "--strict", chart().toString()).requireSuccess();
    helm(
            "lint",
            "--strict",
            chart().toString(),
            "--set",
            "cleanup.onUninstall=true",
            "--set",
            "config.cni.subnetsByHost.host-a=10.90.0.0/16",
            "--set",
            "config.registries.registry\\.example:5000.insecure=true",
            "--set",
            "node.taint.enabled=false",
            "--set",
            "imagePullSecrets[0].name=pull")
        .requireSuccess();
  }

  @Test
  void schemaRefusesBadValuesNamingTheField() {
    assertRefused("node.kubeletPort=10250", "/node/kubeletPort");
    assertRefused("image.pullPolicy=Sometimes", "/image/pullPolicy");
    assertRefused("config.idleTimeout=soon", "/config/idleTimeout");
    assertRefused("config.cni.subnet=10.88.0.0", "/config/cni/subnet");
    assertRefused("cleanup.timeoutSeconds=1", "/cleanup/timeoutSeconds");
    assertRefused("hostPaths.state=var/lib/spawnlet", "/hostPaths/state");
    assertRefused("nodeSelecter.role=x", "nodeSelecter");
  }

  @Test
  void renderedObjectsPassTheApiserversServerSideDryRun() throws IOException {
    String namespace = "spawnlet-dry-run";
    controlPlane.kubectl("create", "namespace", namespace).requireSuccess();
    for (List<String> values :
        List.of(
            List.<String>of(),
            List.of("cleanup.onUninstall=true", "node.taint.enabled=false"),
            List.of("serviceAccount.create=false", "serviceAccount.name=default"))) {
      List<String> args = new ArrayList<>(List.of("template", "dry", chart().toString()));
      args.addAll(List.of("--namespace", namespace, "--kube-version", "1.34.4"));
      for (String value : values) {
        args.addAll(List.of("--set", value));
      }
      String rendered = helm(args.toArray(String[]::new)).requireSuccess();
      assertThat(rendered)
          .contains("kind: DaemonSet", "kind: RuntimeClass", "kind: ClusterRole", "kind: Job");
      Path manifest = Files.writeString(work.resolve("rendered.yaml"), rendered);
      String applied =
          controlPlane
              .kubectl("apply", "--dry-run=server", "-n", namespace, "-f", manifest.toString())
              .requireSuccess();
      assertThat(applied)
          .as("values %s", values)
          .contains("daemonset.apps/dry-spawnlet created (server dry run)")
          .contains("runtimeclass.node.k8s.io/spawnlet created (server dry run)");
    }
  }

  @Test
  void installsAndUninstallsARelease() {
    String namespace = "spawnlet-system";
    helm(
            "install",
            "spawnlet",
            chart().toString(),
            "--namespace",
            namespace,
            "--create-namespace",
            "--set",
            "image.repository=127.0.0.1:5000/spawnlet/spawnlet")
        .requireSuccess();
    String daemonSet =
        controlPlane
            .kubectl(
                "get",
                "daemonset",
                "-n",
                namespace,
                "spawnlet",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}")
            .requireSuccess();
    assertThat(daemonSet).isEqualTo("127.0.0.1:5000/spawnlet/spawnlet:0.1.0-SNAPSHOT");
    assertThat(
            controlPlane
                .kubectl("get", "runtimeclass", "spawnlet", "-o", "jsonpath={.handler}")
                .requireSuccess())
        .isEqualTo("system");
    assertThat(helm("status", "spawnlet", "--namespace", namespace).requireSuccess())
        .contains("STATUS: deployed", "kubectl get nodes -l spawnlet.io/node=true");

    // The pre-delete hook needs a node to run on; the full install/upgrade/uninstall with nodes is
    // the node image's suite. Here: the release's objects all go.
    helm("uninstall", "spawnlet", "--namespace", namespace, "--no-hooks", "--wait")
        .requireSuccess();
    assertThat(controlPlane.kubectl("get", "runtimeclass", "spawnlet").stderr())
        .contains("NotFound");
    assertThat(controlPlane.kubectl("get", "clusterrole", "spawnlet").stderr())
        .contains("NotFound");
    assertThat(controlPlane.kubectl("get", "daemonset", "-n", namespace, "spawnlet").stderr())
        .contains("NotFound");
  }

  private static void assertRefused(String value, String field) {
    ProcessResult linted = helm("lint", chart().toString(), "--set", value);
    assertThat(linted.succeeded()).as("helm lint --set %s", value).isFalse();
    assertThat(linted.stdout() + linted.stderr()).as("helm lint --set %s", value).contains(field);
  }

  private static ProcessResult helm(String... args) {
    return helmAs(controlPlane, work.resolve("helm-home"), HELM_TIMEOUT, args);
  }

  /**
   * Runs helm against {@code controlPlane} as its admin, with helm's own dirs under {@code home}.
   */
  static ProcessResult helmAs(
      ControlPlane controlPlane, Path scratch, Duration timeout, String... args) {
    List<String> command = new ArrayList<>();
    command.add(helmBinary().toString());
    command.addAll(List.of(args));
    return ProcessResult.run(
        command,
        Map.of(
            "KUBECONFIG", controlPlane.adminKubeconfig().toString(),
            "HELM_CACHE_HOME", scratch.resolve("cache").toString(),
            "HELM_CONFIG_HOME", scratch.resolve("config").toString(),
            "HELM_DATA_HOME", scratch.resolve("data").toString()),
        scratch,
        timeout);
  }

  /** helm: spawnlet.helm or SPAWNLET_HELM (scripts/helm-tool.sh prints where it built it). */
  static Path helmBinary() {
    String value = System.getProperty("spawnlet.helm");
    if (value == null || value.isBlank()) {
      value = System.getenv("SPAWNLET_HELM");
    }
    if (value == null || value.isBlank() || !Files.isExecutable(Path.of(value))) {
      throw new IllegalStateException(
          "no helm at '"
              + value
              + "' (spawnlet.helm / SPAWNLET_HELM): build it with scripts/helm-tool.sh");
    }
    return Path.of(value);
  }

  private static Path chart() {
    Path chart = Path.of("..", "charts", "spawnlet").toAbsolutePath().normalize();
    if (!Files.isRegularFile(chart.resolve("Chart.yaml"))) {
      throw new IllegalStateException("no charts/spawnlet beside " + Path.of("").toAbsolutePath());
    }
    return chart;
  }
}
