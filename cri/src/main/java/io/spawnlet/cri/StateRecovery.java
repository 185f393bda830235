package io.spawnlet.cri;

import io.spawnlet.cri.container.ContainerBundles;
import io.spawnlet.cri.container.ContainerExits;
import io.spawnlet.cri.host.NamespacePinner;
import io.spawnlet.cri.oci.ContainerState;
import io.spawnlet.cri.oci.RuntimeHandlers;
import io.spawnlet.cri.sandbox.PodSandboxTeardown;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up reconciliation after a restart or a {@code kill -9}: the records on disk are the intent,
 * conmon's exit files and the OCI runtime's state are the facts. Containers still running keep
 * running (same pid); exits that happened meanwhile are recorded with their codes; sandboxes whose
 * namespaces vanished (host reboot) become NOTREADY; leftovers no record owns are removed.
 */
final class StateRecovery {
  private static final Logger log = LoggerFactory.getLogger(StateRecovery.class);
  private final StateStore state;
  private final RuntimeHandlers handlers;
  private final ContainerBundles bundles;
  private final ContainerExits exits;
  private final NamespacePinner pinner;
  private final PodSandboxTeardown teardown;
  private final io.spawnlet.cri.activation.PodActivation activation;

  StateRecovery(
      StateStore state,
      RuntimeHandlers handlers,
      ContainerBundles bundles,
      ContainerExits exits,
      NamespacePinner pinner,
      PodSandboxTeardown teardown,
      io.spawnlet.cri.activation.PodActivation activation) {
    this.state = state;
    this.handlers = handlers;
    this.bundles = bundles;
    this.exits = exits;
    this.pinner = pinner;
    this.teardown = teardown;
    this.activation = activation;
  }

  void recover() {
    for (String broken : state.load()) {
      log.warn("discarding unreadable record {} (its files are removed)", broken);
    }
    activation.recover(); // socket activation takes its sockets back first
    recoverContainers();
    recoverSandboxes();
    removeLeftovers();
  }

  private void recoverContainers() {
    for (ContainerRecord c : state.containers.all()) {
      if (c.state() == ContainerRecord.State.EXITED || activation.recovered(c)) {
        continue;
      }
      var runtimeState = handlers.runtime(c.runtimeHandler()).state(c.id());
      boolean alive =
          runtimeState.map(s -> s.status() != ContainerState.Status.STOPPED).orElse(false);
      if (alive) {
        log.info(
            "container {} still {} (pid {})",
            c.id(),
            runtimeState.get().status(),
            runtimeState.get().pid());
        continue;
      }
      int code = bundles.exitCodeIfExited(c.id()).orElse(255);
      log.info("container {} exited while spawnlet was down (code {})", c.id(), code);
      exits.exited(c.id(), code, bundles.exitTimeNanos(c.id()));
    }
  }

  private void recoverSandboxes() {
    for (SandboxRecord s : state.sandboxes.all()) {
      if (s.state() != SandboxRecord.State.READY || s.namespacePaths().isEmpty()) {
        continue;
      }
      if (pinner.find(s.id()).isEmpty()) {
        log.warn(
            "pod sandbox {} lost its namespaces (host rebooted?): marking it NOTREADY", s.id());
        teardown.markLost(s);
      }
    }
  }

  private void removeLeftovers() {
    Set<String> sandboxIds =
        state.sandboxes.all().stream().map(SandboxRecord::id).collect(Collectors.toSet());
    for (String id : pinner.pinnedSandboxIds()) {
      if (!sandboxIds.contains(id)) {
        log.info("unpinning namespaces of unknown sandbox {}", id);
        pinner.unpin(id);
      }
    }
    Set<String> containerIds =
        state.containers.all().stream().map(ContainerRecord::id).collect(Collectors.toSet());
    bundles.removeUnknown(containerIds);
  }
}
