package io.spawnlet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodPlannerTest {
  @TempDir Path dir;

  private AgentSettings settings() {
    return new AgentSettings(
        Optional.of(dir.resolve("manifests")),
        dir.resolve("state"),
        dir.resolve("logs"),
        "node1",
        AgentSettings.DEFAULT_RUNTIME_CLASSES,
        Duration.ofSeconds(1));
  }

  private List<StaticPod> read(String yaml) throws IOException {
    Path file = dir.resolve("pod.yaml");
    Files.writeString(file, yaml);
    return new ManifestFiles("node1").read(file);
  }

  private PodPlan plan(String yaml) throws IOException {
    return new PodPlanner(settings()).plan(read(yaml).getFirst());
  }

  private static final String WEB =
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        labels: {app: web}
        annotations: {spawnlet.io/activation: socket}
      spec:
        runtimeClassName: spawnlet
        terminationGracePeriodSeconds: 5
        restartPolicy: OnFailure
        volumes:
        - name: data
          emptyDir: {}
        - name: etc
          hostPath: {path: /etc/hosts, type: File}
        initContainers:
        - name: setup
          image: busybox:1.36
          command: ["sh", "-c", "echo $(GREETING) > /data/x"]
          env: [{name: GREETING, value: hi}]
        containers:
        - name: httpd
          image: busybox
          command: ["httpd", "-f", "-p", "$(PORT)", "$$(PORT)"]
          env:
          - {name: PORT, value: "8080"}
          - {name: URL, value: "http://localhost:$(PORT)/"}
          ports:
          - {containerPort: 8080}
          - {containerPort: 53, protocol: UDP, hostPort: 5353, hostIP: 127.0.0.1}
          volumeMounts:
          - {name: data, mountPath: /data}
          - {name: etc, mountPath: /etc/hosts, readOnly: true}
          securityContext: {privileged: true, runAsUser: 1000}
          resources:
            requests: {cpu: 250m}
            limits: {cpu: "1", memory: 64Mi}
      """;

  @Test
  void mapsThePodLikeTheKubelet() throws IOException {
    PodPlan plan = plan(WEB);
    SandboxPlan s = plan.sandbox();
    assertThat(s.key()).isEqualTo("default/web");
    assertThat(s.uid()).hasSize(32).matches("[0-9a-f]+");
    assertThat(s.hostname()).isEqualTo("web");
    assertThat(s.logDirectory()).isEqualTo(dir.resolve("logs/default_web_" + s.uid()));
    assertThat(s.labels())
        .containsEntry("app", "web")
        .containsEntry(PodPlanner.POD_NAME_LABEL, "web")
        .containsEntry(PodPlanner.POD_NAMESPACE_LABEL, "default")
        .containsEntry(PodPlanner.POD_UID_LABEL, s.uid());
    assertThat(s.annotations())
        .containsEntry("spawnlet.io/activation", "socket")
        .containsEntry("kubernetes.io/config.source", "file");
    assertThat(s.runtimeHandler()).isEqualTo("system");
    assertThat(s.terminationGrace()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.privileged()).isTrue();
    assertThat(s.ports())
        .containsExactly(
            new PortPlan("TCP", 8080, 0, ""), new PortPlan("UDP", 53, 5353, "127.0.0.1"));
    assertThat(plan.restartPolicy()).isEqualTo(RestartPolicy.ON_FAILURE);

    ContainerPlan init = plan.initContainers().getFirst();
    assertThat(init.command()).containsExactly("sh", "-c", "echo hi > /data/x");
    assertThat(init.pullPolicy()).isEqualTo(PullPolicy.IF_NOT_PRESENT);

    ContainerPlan httpd = plan.containers().getFirst();
    assertThat(httpd.pullPolicy()).isEqualTo(PullPolicy.ALWAYS);
    assertThat(httpd.command()).containsExactly("httpd", "-f", "-p", "8080", "$(PORT)");
    assertThat(httpd.env()).containsEntry("URL", "http://localhost:8080/");
    Path emptyDir = dir.resolve("state/pods/" + s.uid() + "/volumes/kubernetes.io~empty-dir/data");
    assertThat(httpd.mounts())
        .containsExactly(
            new MountPlan("/data", emptyDir, false),
            new MountPlan("/etc/hosts", Path.of("/etc/hosts"), true));
    assertThat(plan.directories()).containsExactly(emptyDir);
    assertThat(httpd.runAsUser()).isEqualTo(Optional.of(1000L));
    assertThat(httpd.resources())
        .isEqualTo(new ContainerPlan.Resources(256, 100_000, 100_000, 64L * 1024 * 1024));
  }

  @Test
  void theUidFollowsTheContentAndStaysForTheSameContent() throws IOException {
    String first = read(WEB).getFirst().uid();
    assertThat(read(WEB).getFirst().uid()).isEqualTo(first);
    assertThat(read(WEB.replace("busybox:1.36", "busybox:1.37")).getFirst().uid())
        .isNotEqualTo(first);
  }

  @Test
  void readsSeveralDocumentsAndSkipsEmptyOnes() throws IOException {
    List<StaticPod> pods =
        read(
            """
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: a, namespace: infra}
            spec: {containers: [{name: c, image: busybox}]}
            ---
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: b}
            spec: {containers: [{name: c, image: busybox}]}
            """);
    assertThat(pods).extracting(StaticPod::key).containsExactly("infra/a", "default/b");
  }

  @Test
  void refusesUnsupportedFieldsNamingThem() throws IOException {
    String base =
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
          - name: c
            image: busybox
        """;
    assertThatThrownBy(() -> plan(base + "  volumes: [{name: cfg, configMap: {name: x}}]\n"))
        .isInstanceOf(PodRefusedException.class)
        .hasMessageStartingWith("spec.volumes[0]: needs an apiserver");
    assertThatThrownBy(() -> plan(base + "  volumes: [{name: cfg, gitRepo: {repository: x}}]\n"))
        .hasMessageStartingWith("spec.volumes[0].gitRepo:");
    assertThatThrownBy(() -> plan(base + "    livenessProbe: {tcpSocket: {port: http}}\n"))
        .hasMessageStartingWith("spec.containers[0].livenessProbe.tcpSocket.port:");
    assertThatThrownBy(
            () ->
                plan(
                    base
                        + "    env: [{name: X, valueFrom: {configMapKeyRef: {name: c, key: k}}}]\n"))
        .hasMessageStartingWith("spec.containers[0].env[0].valueFrom: needs an apiserver");
    assertThatThrownBy(
            () -> plan(base + "    env: [{name: X, valueFrom: {fieldRef: {fieldPath: x}}}]\n"))
        .hasMessageStartingWith("spec.containers[0].env[0].valueFrom.fieldPath:");
    assertThatThrownBy(() -> plan(base + "  dnsConfig: {nameservers: [1.1.1.1]}\n"))
        .hasMessageStartingWith("spec.dnsConfig:");
    assertThatThrownBy(() -> plan(base + "  volumes: [{name: m, emptyDir: {medium: Disk}}]\n"))
        .hasMessageStartingWith("spec.volumes[0].emptyDir.medium:");
    assertThatThrownBy(() -> read(base.replace("kind: Pod", "kind: Deployment")))
        .hasMessageContaining("only v1/Pod");
  }

  @Test
  void expandsLikeKubernetes() {
    Map<String, String> env = Map.of("A", "x");
    assertThat(PodPlanner.expand("$(A)-$(B)-$$(A)-$", env)).isEqualTo("x-$(B)-$(A)-$");
  }

  @Test
  void backsOffLikeTheKubelet() {
    assertThat(RestartBackoff.delay(0)).isZero();
    assertThat(RestartBackoff.delay(1)).isEqualTo(Duration.ofSeconds(10));
    assertThat(RestartBackoff.delay(2)).isEqualTo(Duration.ofSeconds(20));
    assertThat(RestartBackoff.delay(5)).isEqualTo(Duration.ofSeconds(160));
    assertThat(RestartBackoff.delay(6)).isEqualTo(Duration.ofMinutes(5));
    assertThat(RestartBackoff.delay(60)).isEqualTo(Duration.ofMinutes(5));
  }
}
