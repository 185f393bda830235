package io.spawnlet.agent.cri;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.agent.pod.AgentSettings;
import io.spawnlet.agent.pod.ManifestFiles;
import io.spawnlet.agent.pod.PodPlan;
import io.spawnlet.agent.pod.PodPlanner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.ContainerConfig;
import runtime.v1.NamespaceMode;
import runtime.v1.PodSandboxConfig;
import runtime.v1.Protocol;

class CriPodRuntimeTest {
  @TempDir Path dir;

  @Test
  void buildsTheKubeletsRequests() throws Exception {
    Path file = dir.resolve("p.yaml");
    Files.writeString(
        file,
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: demo}
        spec:
          hostNetwork: true
          containers:
          - name: httpd
            image: busybox
            args: ["-p", "80"]
            env: [{name: A, value: b}]
            ports: [{containerPort: 80, hostPort: 8080}]
            securityContext: {runAsUser: 33, capabilities: {add: [NET_ADMIN]}}
        """);
    AgentSettings settings =
        new AgentSettings(
            Optional.of(dir),
            dir.resolve("state"),
            dir.resolve("logs"),
            "n",
            AgentSettings.DEFAULT_RUNTIME_CLASSES,
            Duration.ofSeconds(1));
    PodPlan plan = new PodPlanner(settings).plan(new ManifestFiles("n").read(file).getFirst());

    PodSandboxConfig sandbox = CriPodRuntime.sandboxConfig(plan.sandbox());
    assertThat(sandbox.getMetadata().getName()).isEqualTo("web");
    assertThat(sandbox.getMetadata().getNamespace()).isEqualTo("demo");
    assertThat(sandbox.getMetadata().getUid()).isEqualTo(plan.sandbox().uid());
    assertThat(sandbox.getHostname()).isEmpty();
    assertThat(sandbox.getLogDirectory()).endsWith("/logs/demo_web_" + plan.sandbox().uid());
    assertThat(sandbox.getLabelsMap()).containsEntry(PodPlanner.POD_NAMESPACE_LABEL, "demo");
    assertThat(sandbox.getPortMappings(0).getProtocol()).isEqualTo(Protocol.TCP);
    assertThat(sandbox.getPortMappings(0).getHostPort()).isEqualTo(8080);
    assertThat(sandbox.getLinux().getSecurityContext().getNamespaceOptions().getNetwork())
        .isEqualTo(NamespaceMode.NODE);

    ContainerConfig c =
        CriPodRuntime.containerConfig(plan.sandbox(), plan.containers().getFirst(), 3);
    assertThat(c.getMetadata().getAttempt()).isEqualTo(3);
    assertThat(c.getLogPath()).isEqualTo("httpd/3.log");
    assertThat(c.getArgsList()).containsExactly("-p", "80");
    assertThat(c.getEnvs(0).getValue().toStringUtf8()).isEqualTo("b");
    assertThat(c.getLabelsMap()).containsEntry(PodPlanner.CONTAINER_NAME_LABEL, "httpd");
    assertThat(c.getAnnotationsMap()).containsEntry("io.kubernetes.container.restartCount", "3");
    assertThat(c.getLinux().getSecurityContext().getRunAsUser().getValue()).isEqualTo(33);
    assertThat(c.getLinux().getSecurityContext().getCapabilities().getAddCapabilitiesList())
        .containsExactly("NET_ADMIN");
    assertThat(c.getLinux().getSecurityContext().getNamespaceOptions().getPid())
        .isEqualTo(NamespaceMode.CONTAINER);
  }
}
