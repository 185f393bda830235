package io.spawnlet.agent.node;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/**
 * The node's heartbeat: the Lease {@code kube-node-lease/<node>}, held by the node, renewed every
 * heartbeat (10 s) with a 40 s duration, owned by the Node so it goes with it. The node lifecycle
 * controller marks the node unreachable when the lease runs out.
 */
public final class NodeLease {
  public static final String NAMESPACE = "kube-node-lease";

  private final KubernetesClient client;
  private final String nodeName;
  private final Duration duration;

  public NodeLease(KubernetesClient client, String nodeName, Duration duration) {
    this.client = client;
    this.nodeName = nodeName;
    this.duration = duration;
  }

  /** Creates the lease or moves its renewTime to now. */
  public Lease renew(Node owner) {
    var leases = client.leases().inNamespace(NAMESPACE);
    Lease lease = leases.withName(nodeName).get();
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    if (lease == null) {
      LeaseBuilder b =
          new LeaseBuilder()
              .withNewMetadata()
              .withName(nodeName)
              .withNamespace(NAMESPACE)
              .endMetadata()
              .withNewSpec()
              .withHolderIdentity(nodeName)
              .withLeaseDurationSeconds((int) duration.toSeconds())
              .withRenewTime(now)
              .endSpec();
      if (owner != null && owner.getMetadata().getUid() != null) {
        b.editMetadata()
            .withOwnerReferences(
                new OwnerReferenceBuilder()
                    .withApiVersion("v1")
                    .withKind("Node")
                    .withName(nodeName)
                    .withUid(owner.getMetadata().getUid())
                    .build())
            .endMetadata();
      }
      return leases.resource(b.build()).create();
    }
    lease.getSpec().setRenewTime(now);
    lease.getSpec().setHolderIdentity(nodeName);
    lease.getSpec().setLeaseDurationSeconds((int) duration.toSeconds());
    return leases.resource(lease).update();
  }
}
