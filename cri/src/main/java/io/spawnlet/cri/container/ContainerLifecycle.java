package io.spawnlet.cri.container;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.Validation;
import io.spawnlet.cri.events.ContainerEvents;
import io.spawnlet.cri.oci.OciRuntime;
import io.spawnlet.cri.oci.RuntimeHandlers;
import io.spawnlet.cri.oci.SystemContainerSpec;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.ContainerEventType;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemoveContainerResponse;
import runtime.v1.ReopenContainerLogRequest;
import runtime.v1.ReopenContainerLogResponse;
import runtime.v1.StartContainerRequest;
import runtime.v1.StartContainerResponse;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopContainerResponse;
import runtime.v1.UpdateContainerResourcesRequest;
import runtime.v1.UpdateContainerResourcesResponse;

/**
 * StartContainer, StopContainer, RemoveContainer, ExecSync, UpdateContainerResources,
 * ReopenContainerLog.
 */
public final class ContainerLifecycle {
  private static final Logger log = LoggerFactory.getLogger(ContainerLifecycle.class);
  static final int SIGKILL = 9;
  static final int SIGTERM = 15;

  /** How long to wait for conmon to report an exit after SIGKILL before asking the runtime. */
  private static final Duration KILL_GRACE = Duration.ofSeconds(10);

  private final StateStore state;
  private final RuntimeHandlers handlers;
  private final ContainerBundles bundles;
  private final ContainerExits exits;
  private final ContainerEvents events;

  // Socket activation hook (io.spawnlet.cri.activation): a no-op unless the daemon sets it.
  private io.spawnlet.cri.activation.PodActivation activation =
      io.spawnlet.cri.activation.PodActivation.NONE;

  public void useActivation(io.spawnlet.cri.activation.PodActivation activation) {
    this.activation = activation;
  }

  public ContainerLifecycle(
      StateStore state,
      RuntimeHandlers handlers,
      ContainerBundles bundles,
      ContainerExits exits,
      ContainerEvents events) {
    this.state = state;
    this.handlers = handlers;
    this.bundles = bundles;
    this.exits = exits;
    this.events = events;
  }

  public StartContainerResponse start(StartContainerRequest req) {
    ContainerRecord c = state.container("container_id", req.getContainerId());
    if (c.state() != ContainerRecord.State.CREATED) {
      throw CriException.precondition(
          "container "
              + c.id()
              + " is "
              + c.state()
              + ": only a CREATED container can be started (create a new one to run it again)");
    }
    if (activation.activated(c.sandboxId())) {
      // Socket activation: recorded as running now (the service is up: its sockets accept); the
      // process runs when the pod wakes.
      long now = System.currentTimeMillis() * 1_000_000L;
      state.containers.update(c.id(), r -> r.started(now, 0)).ifPresent(activation::started);
      events.publish(
          () -> ContainerEvents.event(c.id(), ContainerEventType.CONTAINER_STARTED_EVENT).build());
      return StartContainerResponse.getDefaultInstance();
    }
    OciRuntime runtime = handlers.runtime(c.runtimeHandler());
    // Taken before the program runs: conmon stamps its exit later, so startedAt <= finishedAt even
    // for a program that exits at once.
    long now = System.currentTimeMillis() * 1_000_000L;
    try {
      if (SystemContainerSpec.HANDLER.equals(c.runtimeHandler())) {
        Map<String, String> pod =
            state.sandboxes.get(c.sandboxId()).map(SandboxRecord::annotations).orElse(Map.of());
        bundles
            .boot()
            .start(
                c.id(),
                runtime,
                BootReadiness.timeout(pod),
                bundles.logFile(c),
                () -> bundles.exitCodeIfExited(c.id()).isPresent());
      } else {
        runtime.start(c.id());
      }
    } catch (RuntimeException e) {
      state.containers.update(
          c.id(),
          r ->
              r.exited(System.currentTimeMillis() * 1_000_000L, 128, "StartError", e.getMessage()));
      throw e;
    }
    state.containers.update(c.id(), r -> r.started(now, r.pid()));
    events.publish(
        () -> ContainerEvents.event(c.id(), ContainerEventType.CONTAINER_STARTED_EVENT).build());
    // A program that exits at once may have been reported before startedAt was written.
    bundles
        .exitCodeIfExited(c.id())
        .ifPresent(code -> exits.exited(c.id(), code, bundles.exitTimeNanos(c.id())));
    log.info("container {} started (pid {})", c.id(), c.pid());
    return StartContainerResponse.getDefaultInstance();
  }

  public StopContainerResponse stop(StopContainerRequest req) {
    // CRI: idempotent; an unknown (already removed) container is not an error, as in containerd
    Optional<ContainerRecord> found = findQuietly(req.getContainerId());
    if (found.isEmpty()) {
      Validation.id("container_id", req.getContainerId());
      return StopContainerResponse.getDefaultInstance();
    }
    ContainerRecord c = found.get();
    stop(c, Duration.ofSeconds(Math.max(0, req.getTimeout())));
    return StopContainerResponse.getDefaultInstance();
  }

  /** Stop signal, then the grace period, then SIGKILL; returns when the exit is recorded. */
  public void stop(ContainerRecord c, Duration timeout) {
    if (c.state() == ContainerRecord.State.EXITED) {
      return;
    }
    activation.releasing(c);
    OciRuntime runtime = handlers.runtime(c.runtimeHandler());
    if (!timeout.isZero()) {
      int signal = c.stopSignal() > 0 ? c.stopSignal() : SIGTERM;
      log.info(
          "stopping container {} with signal {}, grace {}s", c.id(), signal, timeout.toSeconds());
      if (signalIfAlive(runtime, c, signal) && exits.await(c.id(), timeout)) {
        return;
      }
    }
    log.info("killing container {}", c.id());
    signalIfAlive(runtime, c, SIGKILL);
    if (!exits.await(c.id(), KILL_GRACE)) {
      // conmon is gone (killed by hand?): record what the runtime says rather than hang.
      exits.exited(c.id(), 137, System.currentTimeMillis() * 1_000_000L);
    }
  }

  private boolean signalIfAlive(OciRuntime runtime, ContainerRecord c, int signal) {
    try {
      runtime.kill(c.id(), signal, false);
      return true;
    } catch (CriException e) {
      if (e.kind() == CriException.Kind.NOT_FOUND) {
        bundles
            .exitCodeIfExited(c.id())
            .ifPresentOrElse(
                code -> exits.exited(c.id(), code, System.currentTimeMillis() * 1_000_000L),
                () -> exits.exited(c.id(), 137, System.currentTimeMillis() * 1_000_000L));
        return false;
      }
      // "container not running": it exited meanwhile; the exit monitor will record it.
      log.debug("signal {} to {}: {}", signal, c.id(), e.getMessage());
      return false;
    }
  }

  public RemoveContainerResponse remove(RemoveContainerRequest req) {
    Validation.id("container_id", req.getContainerId());
    Optional<ContainerRecord> found = findQuietly(req.getContainerId());
    found.ifPresent(this::remove);
    return RemoveContainerResponse.getDefaultInstance();
  }

  /** Force-stops if needed, then deletes the runtime container, its rootfs and its record. */
  public void remove(ContainerRecord c) {
    if (c.state() == ContainerRecord.State.RUNNING || c.state() == ContainerRecord.State.CREATED) {
      stop(c, Duration.ZERO);
    }
    bundles.delete(c);
    state.containers.remove(c.id());
    state.containerNames.release(
        StateStore.containerName(c.sandboxId(), c.name(), c.attempt()), c.id());
    events.publish(
        () -> ContainerEvents.event(c.id(), ContainerEventType.CONTAINER_DELETED_EVENT).build());
    log.info("container {} removed", c.id());
  }

  private Optional<ContainerRecord> findQuietly(String id) {
    try {
      return Optional.of(state.container("container_id", id));
    } catch (CriException e) {
      if (e.kind() == CriException.Kind.NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  public ExecSyncResponse execSync(ExecSyncRequest req) {
    ContainerRecord c = state.container("container_id", req.getContainerId());
    if (req.getCmdCount() == 0) {
      throw CriException.invalid("cmd", "is required");
    }
    if (c.state() != ContainerRecord.State.RUNNING) {
      throw CriException.precondition(
          "container " + c.id() + " is " + c.state() + ": ExecSync needs a running container");
    }
    // CRI: timeout 0 means no timeout.
    Duration timeout = Duration.ofSeconds(Math.max(0, req.getTimeout()));
    var result =
        handlers
            .runtime(c.runtimeHandler())
            .execSync(c.id(), Optional.of(bundles.bundle(c.id())), req.getCmdList(), timeout);
    return ExecSyncResponse.newBuilder()
        .setExitCode(result.exitCode())
        .setStdout(com.google.protobuf.ByteString.copyFrom(result.stdout()))
        .setStderr(com.google.protobuf.ByteString.copyFrom(result.stderr()))
        .build();
  }

  public UpdateContainerResourcesResponse updateResources(UpdateContainerResourcesRequest req) {
    ContainerRecord c = state.container("container_id", req.getContainerId());
    if (c.state() == ContainerRecord.State.EXITED) {
      throw CriException.precondition("container " + c.id() + " has exited: nothing to update");
    }
    if (req.hasLinux()) {
      handlers.runtime(c.runtimeHandler()).updateResources(c.id(), req.getLinux());
    }
    return UpdateContainerResourcesResponse.getDefaultInstance();
  }

  public ReopenContainerLogResponse reopenLog(ReopenContainerLogRequest req) {
    ContainerRecord c = state.container("container_id", req.getContainerId());
    if (c.state() != ContainerRecord.State.RUNNING) {
      throw CriException.precondition("container " + c.id() + " is not running: its log is closed");
    }
    bundles.reopenLog(c);
    return ReopenContainerLogResponse.getDefaultInstance();
  }
}
