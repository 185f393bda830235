package io.spawnlet.cri.sandbox;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.Validation;
import io.spawnlet.cri.container.ContainerLifecycle;
import io.spawnlet.cri.host.NamespacePinner;
import io.spawnlet.cri.host.PodCgroups;
import io.spawnlet.cri.net.PodNetwork;
import io.spawnlet.cri.net.PodRef;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RemovePodSandboxResponse;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.StopPodSandboxResponse;

/**
 * StopPodSandbox and RemovePodSandbox. Stop kills what still runs, detaches the pod from the
 * network (its IP is released) and releases its namespaces; remove also deletes its containers,
 * cgroup and files. Both are idempotent: every step tolerates "already done".
 */
public final class PodSandboxTeardown {
  private static final Logger log = LoggerFactory.getLogger(PodSandboxTeardown.class);

  private final StateStore state;
  private final SandboxLayout layout;
  private final NamespacePinner namespaces;
  private final PodCgroups cgroups;
  private final PodNetwork network;
  private final ContainerLifecycle containers;
  private final PodPidNamespace pidNamespaces;

  // Socket activation hook (io.spawnlet.cri.activation): a no-op unless the daemon sets it.
  private io.spawnlet.cri.activation.PodActivation activation =
      io.spawnlet.cri.activation.PodActivation.NONE;

  public void useActivation(io.spawnlet.cri.activation.PodActivation activation) {
    this.activation = activation;
  }

  public PodSandboxTeardown(
      StateStore state,
      SandboxLayout layout,
      NamespacePinner namespaces,
      PodCgroups cgroups,
      PodNetwork network,
      ContainerLifecycle containers,
      PodPidNamespace pidNamespaces) {
    this.state = state;
    this.layout = layout;
    this.namespaces = namespaces;
    this.cgroups = cgroups;
    this.network = network;
    this.containers = containers;
    this.pidNamespaces = pidNamespaces;
  }

  public StopPodSandboxResponse stop(StopPodSandboxRequest req) {
    SandboxRecord s;
    try {
      s = state.sandbox("pod_sandbox_id", req.getPodSandboxId());
    } catch (CriException e) {
      // CRI: idempotent, no error once everything is reclaimed (the kubelet retries freely)
      if (e.kind() == CriException.Kind.NOT_FOUND) {
        return StopPodSandboxResponse.getDefaultInstance();
      }
      throw e;
    }
    stop(s);
    return StopPodSandboxResponse.getDefaultInstance();
  }

  void stop(SandboxRecord s) {
    for (ContainerRecord c : state.containersOf(s.id())) {
      containers.stop(c, Duration.ZERO);
    }
    if (s.state() == SandboxRecord.State.READY) {
      log.info("stopping pod sandbox {}", s.id());
    }
    releaseNetworkAndNamespaces(s);
    state.sandboxes.update(s.id(), r -> r.stopped(System.currentTimeMillis() * 1_000_000L));
  }

  /** Runs at stop, again at remove and during recovery: each part must be a no-op when done. */
  void releaseNetworkAndNamespaces(SandboxRecord s) {
    activation.close(s.id());
    String netns = s.namespacePaths().get("network");
    if (!s.hostNetwork() && netns != null) {
      network.tearDown(
          s.id(),
          Path.of(netns),
          new PodRef(s.namespace(), s.name(), s.uid()),
          SandboxLayout.portMappings(PodSandboxQueries.config(s)));
    }
    layout.files(s.id()).unmountShm();
    pidNamespaces.stop(layout.files(s.id()));
    namespaces.unpin(s.id());
  }

  /**
   * Recovery: the sandbox's namespaces are gone (reboot); release what is left, mark it stopped.
   */
  public void markLost(SandboxRecord s) {
    try {
      releaseNetworkAndNamespaces(s);
    } catch (RuntimeException e) {
      log.warn("releasing network of lost pod sandbox {}: {}", s.id(), e.getMessage());
    }
    state.sandboxes.update(s.id(), r -> r.stopped(System.currentTimeMillis() * 1_000_000L));
  }

  public RemovePodSandboxResponse remove(RemovePodSandboxRequest req) {
    Validation.id("pod_sandbox_id", req.getPodSandboxId());
    SandboxRecord s;
    try {
      s = state.sandbox("pod_sandbox_id", req.getPodSandboxId());
    } catch (CriException e) {
      if (e.kind() == CriException.Kind.NOT_FOUND) {
        return RemovePodSandboxResponse.getDefaultInstance();
      }
      throw e;
    }
    remove(s);
    return RemovePodSandboxResponse.getDefaultInstance();
  }

  void remove(SandboxRecord s) {
    log.info("removing pod sandbox {}", s.id());
    for (ContainerRecord c : state.containersOf(s.id())) {
      containers.remove(c);
    }
    releaseNetworkAndNamespaces(s);
    if (s.cgroupParent().startsWith(PodSandboxRunner.OWN_CGROUP_ROOT)) {
      cgroups.remove(s.cgroupParent());
    }
    try {
      layout.delete(layout.files(s.id()));
    } catch (IOException e) {
      throw CriException.internal(
          "deleting the files of pod sandbox " + s.id() + ": " + e.getMessage(), e);
    }
    state.sandboxes.remove(s.id());
    state.sandboxNames.release(s.uniqueName(), s.id());
  }
}
