package io.spawnlet.agent.pod;

import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import io.spawnlet.agent.pod.PodRuntime.SandboxView;
import io.spawnlet.agent.probe.LifecycleHandler;
import io.spawnlet.agent.probe.LifecycleHookRunner;
import io.spawnlet.agent.volume.MemoryVolumes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops and removes every sandbox of a pod uid (the runtime is asked, so a sandbox created by a
 * call that was interrupted is found too): running containers get their grace period in parallel,
 * each first running its preStop hook within that period as the kubelet does, then the sandbox is
 * stopped and removed, then the pod's volumes are unmounted and deleted.
 */
final class PodTerminator {
  private static final Logger log = LoggerFactory.getLogger(PodTerminator.class);

  /**
   * What the kubelet leaves a container after its preStop hook, however long the hook took
   * (minimumGracePeriodInSeconds).
   */
  private static final Duration MINIMUM_GRACE_AFTER_HOOK = Duration.ofSeconds(2);

  private final PodRuntime runtime;
  private final Path stateDir;
  private final LifecycleHookRunner hooks;

  PodTerminator(PodRuntime runtime, Path stateDir) {
    this.runtime = runtime;
    this.stateDir = stateDir;
    this.hooks = new LifecycleHookRunner(runtime);
  }

  /** Terminates a pod whose spec is not known (no preStop hooks to run). */
  void terminate(String key, String uid, Duration grace) {
    terminate(key, uid, grace, Map.of(), PodObserver.IGNORE);
  }

  /**
   * Terminates the pod; {@code preStops} are the hooks by container name, failures reported to
   * {@code observer} as FailedPreStopHook events.
   */
  void terminate(
      String key,
      String uid,
      Duration grace,
      Map<String, LifecycleHandler> preStops,
      PodObserver observer) {
    for (SandboxView sandbox : runtime.sandboxes(Map.of(PodPlanner.POD_UID_LABEL, uid))) {
      List<Thread> stops = new ArrayList<>();
      List<ContainerView> running =
          runtime.containers(sandbox.id()).stream()
              .filter(c -> c.state() == ContainerView.State.RUNNING)
              .toList();
      String podIp =
          running.stream().anyMatch(c -> preStops.containsKey(c.name()))
              ? runtime.sandboxIp(sandbox.id()).orElse("127.0.0.1")
              : "";
      for (ContainerView c : running) {
        Optional<LifecycleHandler> preStop = Optional.ofNullable(preStops.get(c.name()));
        stops.add(
            Thread.ofVirtual().start(() -> stopContainer(key, c, podIp, grace, preStop, observer)));
      }
      for (Thread t : stops) {
        joinUninterruptibly(t);
      }
      if (!stops.isEmpty()) {
        logExits(key, sandbox.id());
      }
      runtime.stopSandbox(sandbox.id());
      runtime.removeSandbox(sandbox.id());
      log.info("pod {} stopped and removed (sandbox {})", key, shortId(sandbox.id()));
    }
    Path podDir = stateDir.resolve("pods").resolve(uid);
    try {
      MemoryVolumes.unmountBelow(podDir);
    } catch (IOException e) {
      log.warn("pod {}: cannot unmount its memory volumes: {} (umount them by hand)", key, e);
    }
    deleteTree(podDir);
  }

  /**
   * Stops one running container the kubelet's way: its preStop hook first, bounded by {@code
   * grace}, then the stop signal with what is left of the grace period (at least 2 s after a hook).
   */
  void stopContainer(
      String key,
      ContainerView c,
      String podIp,
      Duration grace,
      Optional<LifecycleHandler> preStop,
      PodObserver observer) {
    Duration left = grace;
    if (preStop.isPresent() && grace.isPositive()) {
      Instant start = Instant.now();
      log.info(
          "pod {}: running the preStop hook of container {} ({})",
          key,
          c.name(),
          preStop.get().describe());
      Optional<String> failure = hooks.run(preStop.get(), c.id(), podIp, grace);
      if (failure.isPresent()) {
        log.warn("pod {}: preStop hook of container {} failed: {}", key, c.name(), failure.get());
        observer.event(
            true,
            "FailedPreStopHook",
            "PreStopHook failed for container " + c.name() + ": " + failure.get());
      }
      left = grace.minus(Duration.between(start, Instant.now()));
      if (left.compareTo(MINIMUM_GRACE_AFTER_HOOK) < 0) {
        left = MINIMUM_GRACE_AFTER_HOOK;
      }
    }
    runtime.stopContainer(c.id(), left);
  }

  /**
   * How the stopped containers ended: exit code 0 after the stop signal is a graceful stop (a
   * system container's systemd powered off on SIGRTMIN+3), 137 means the grace period ran out.
   */
  private void logExits(String key, String sandboxId) {
    for (ContainerView c : runtime.containers(sandboxId)) {
      if (c.state() == ContainerView.State.EXITED) {
        log.info(
            "pod {}: container {} (attempt {}) stopped with exit code {}",
            key,
            c.name(),
            c.attempt(),
            c.exitCode());
      }
    }
  }

  static String shortId(String id) {
    return id.length() > 13 ? id.substring(0, 13) : id;
  }

  private static void joinUninterruptibly(Thread t) {
    boolean interrupted = false;
    while (true) {
      try {
        t.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> tree = Files.walk(dir)) {
      for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      log.warn("cannot delete the pod's volumes at {}: {} (delete it by hand)", dir, e.toString());
    }
  }
}
