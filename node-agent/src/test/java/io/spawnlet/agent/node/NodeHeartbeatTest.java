package io.spawnlet.agent.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registration, status and Lease against fabric8's mock apiserver (CRUD mode). */
@EnableKubernetesMockClient(crud = true)
class NodeHeartbeatTest {
  static KubernetesClient client;
  @TempDir Path state;

  /** The mock server lives for the class: each test has its own node. */
  private NodeSettings settings(String name) {
    return new NodeSettings(
        name,
        Map.of("zone", "a"),
        List.of(NodeSettings.SYSTEM_CONTAINERS_TAINT),
        List.of("192.0.2.10"),
        10250,
        110,
        Duration.ofSeconds(10),
        Duration.ofMinutes(1),
        "0.1.0");
  }

  @Test
  void registersTheNodeWithLabelsTaintCapacityAndReadyCondition() {
    NodeStatusReporter reporter =
        new NodeStatusReporter(client, settings("n1"), state, List::of, () -> "spawnlet 0.1.0");
    reporter.register();
    Node node = client.nodes().withName("n1").get();
    assertThat(node.getMetadata().getLabels())
        .containsEntry("kubernetes.io/os", "linux")
        .containsEntry("kubernetes.io/hostname", "n1")
        .containsEntry("spawnlet.io/node", "true")
        .containsEntry("zone", "a");
    assertThat(node.getSpec().getTaints())
        .singleElement()
        .satisfies(
            t -> {
              assertThat(t.getKey()).isEqualTo("spawnlet.io/system-containers");
              assertThat(t.getEffect()).isEqualTo("NoSchedule");
            });
    assertThat(node.getStatus().getCapacity())
        .containsKeys("cpu", "memory", "ephemeral-storage", "pods");
    assertThat(node.getStatus().getNodeInfo().getContainerRuntimeVersion())
        .isEqualTo("spawnlet://0.1.0");
    assertThat(node.getStatus().getDaemonEndpoints().getKubeletEndpoint().getPort())
        .isEqualTo(10250);
    assertThat(node.getStatus().getAddresses())
        .anySatisfy(a -> assertThat(a.getAddress()).isEqualTo("192.0.2.10"));
    assertThat(node.getStatus().getConditions())
        .extracting(NodeCondition::getType)
        .containsExactlyInAnyOrder("Ready", "MemoryPressure", "DiskPressure", "PIDPressure");
    assertThat(node.getStatus().getConditions())
        .filteredOn(c -> c.getType().equals("Ready"))
        .singleElement()
        .satisfies(c -> assertThat(c.getStatus()).isEqualTo("True"));
  }

  @Test
  void aRuntimeProblemMakesTheNodeNotReady() {
    NodeStatusReporter reporter =
        new NodeStatusReporter(
            client,
            settings("n2"),
            state,
            () -> List.of("RuntimeReady: daemon down"),
            () -> "spawnlet 0.1.0");
    reporter.register();
    assertThat(client.nodes().withName("n2").get().getStatus().getConditions())
        .filteredOn(c -> c.getType().equals("Ready"))
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.getStatus()).isEqualTo("False");
              assertThat(c.getMessage()).contains("daemon down");
            });
  }

  @Test
  void theLeaseIsCreatedOwnedByTheNodeThenRenewed() throws Exception {
    NodeStatusReporter reporter =
        new NodeStatusReporter(client, settings("n3"), state, List::of, () -> "spawnlet 0.1.0");
    Node node = reporter.register();
    NodeLease lease = new NodeLease(client, "n3", Duration.ofSeconds(40));
    Lease first = lease.renew(node);
    assertThat(first.getSpec().getHolderIdentity()).isEqualTo("n3");
    assertThat(first.getSpec().getLeaseDurationSeconds()).isEqualTo(40);
    Thread.sleep(5);
    Lease second = lease.renew(node);
    assertThat(second.getSpec().getRenewTime()).isAfter(first.getSpec().getRenewTime());
    assertThat(
            client
                .leases()
                .inNamespace("kube-node-lease")
                .withName("n3")
                .get()
                .getMetadata()
                .getOwnerReferences())
        .singleElement()
        .satisfies(o -> assertThat(o.getKind()).isEqualTo("Node"));
  }
}
