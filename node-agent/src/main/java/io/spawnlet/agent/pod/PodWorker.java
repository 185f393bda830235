package io.spawnlet.agent.pod;

import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import io.spawnlet.agent.pod.PodRuntime.SandboxView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one pod running on its own virtual thread, the kubelet's way:
 *
 * <pre>
 *   adopt a ready sandbox with the pod's uid ─or─ run a new one
 *     → init containers in order, each until it exits 0 (restarted with back-off)
 *     → app containers created and started
 *     → every poll: exited containers restarted per restartPolicy with back-off
 *   detach(): the thread ends, the pod keeps running (agent restart, SIGTERM)
 *   terminate(): containers stopped with the grace period, sandbox stopped and removed
 * </pre>
 *
 * Runtime failures are logged and retried with the same back-off; the pod's state lives in the
 * runtime, so the worker can be stopped and a new one adopts the pod.
 */
final class PodWorker {
  private static final Logger log = LoggerFactory.getLogger(PodWorker.class);

  private enum Ending {
    DETACH,
    TERMINATE
  }

  private final PodPlan plan;
  private final PodRuntime runtime;
  private final PodTerminator terminator;
  private final Duration poll;
  private final String key;
  private final Map<String, RestartBackoff> backoffs = new HashMap<>();
  private final Set<String> handledExits = new HashSet<>();
  private volatile Ending ending;
  private Thread thread;
  private String sandboxId;
  private boolean initDone;
  private boolean announced;
  private boolean finished;

  PodWorker(PodPlan plan, PodRuntime runtime, PodTerminator terminator, Duration poll) {
    this.plan = plan;
    this.runtime = runtime;
    this.terminator = terminator;
    this.poll = poll;
    this.key = plan.sandbox().key();
  }

  String uid() {
    return plan.sandbox().uid();
  }

  void start() {
    thread = Thread.ofVirtual().name("pod " + key).start(this::run);
  }

  /** Ends the worker; the pod keeps running. Returns at once; {@link #join()} waits. */
  void detach() {
    end(Ending.DETACH);
  }

  /** Ends the worker after stopping and removing the pod (grace period from the manifest). */
  void terminate() {
    end(Ending.TERMINATE);
  }

  void join() throws InterruptedException {
    thread.join();
  }

  private void end(Ending how) {
    if (ending == null) {
      ending = how;
      thread.interrupt();
    }
  }

  private void run() {
    RestartBackoff failures = new RestartBackoff();
    while (ending == null) {
      try {
        step();
        failures = new RestartBackoff();
        Thread.sleep(poll);
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException e) {
        if (ending != null) {
          break;
        }
        failures.exited(Instant.now());
        Duration wait =
            failures.currentDelay().compareTo(poll) < 0 ? poll : failures.currentDelay();
        log.warn("pod {}: {} (retrying in {}s)", key, e.getMessage(), wait.toSeconds());
        failures.tryRestart(Instant.now());
        try {
          Thread.sleep(wait);
        } catch (InterruptedException ie) {
          break;
        }
      }
    }
    Thread.interrupted(); // teardown calls must not be cancelled by the interrupt that ended us
    if (ending == Ending.TERMINATE) {
      try {
        terminator.terminate(key, uid(), plan.sandbox().terminationGrace());
      } catch (RuntimeException e) {
        log.error("pod {}: could not stop and remove it: {}", key, e.getMessage());
      }
    }
  }

  private void step() throws InterruptedException {
    if (sandboxId == null) {
      sandboxId = adoptOrRunSandbox();
    }
    if (finished) {
      return;
    }
    if (!initDone) {
      initDone = runInitContainers();
      if (!initDone) {
        return;
      }
    }
    syncContainers();
  }

  private String adoptOrRunSandbox() {
    List<SandboxView> existing =
        runtime.sandboxes(Map.of(PodPlanner.POD_UID_LABEL, uid())).stream()
            .sorted(Comparator.comparingLong(SandboxView::createdAtNanos).reversed())
            .toList();
    Optional<SandboxView> ready = existing.stream().filter(SandboxView::ready).findFirst();
    for (SandboxView stale : existing) {
      if (ready.isEmpty() || !stale.id().equals(ready.get().id())) {
        log.info("pod {}: removing its stopped sandbox {}", key, shortId(stale.id()));
        runtime.stopSandbox(stale.id());
        runtime.removeSandbox(stale.id());
      }
    }
    if (ready.isPresent()) {
      String id = ready.get().id();
      Set<String> appNames =
          plan.containers().stream().map(ContainerPlan::name).collect(Collectors.toSet());
      initDone = runtime.containers(id).stream().anyMatch(c -> appNames.contains(c.name()));
      log.info(
          "pod {} adopted: sandbox {}, IP {}", key, shortId(id), runtime.sandboxIp(id).orElse("-"));
      announced = true;
      return id;
    }
    for (Path dir : plan.directories()) {
      createDirectory(dir);
    }
    createDirectory(plan.sandbox().logDirectory());
    String id = runtime.runSandbox(plan.sandbox());
    log.info("pod {}: sandbox {} started", key, shortId(id));
    return id;
  }

  /** Returns true once every init container has exited 0; false while waiting or failed. */
  private boolean runInitContainers() throws InterruptedException {
    for (ContainerPlan init : plan.initContainers()) {
      while (true) {
        Optional<ContainerView> latest = latest(init.name());
        if (latest.isEmpty()) {
          createAndStart(init, 0);
        } else if (latest.get().state() == ContainerView.State.EXITED) {
          ContainerView c = latest.get();
          if (c.exitCode() == 0) {
            break;
          }
          if (plan.restartPolicy() == RestartPolicy.NEVER) {
            fail("init container " + init.name() + " exited with code " + c.exitCode());
            return false;
          }
          restartWithBackoff(init, c);
        } else if (latest.get().state() == ContainerView.State.CREATED) {
          runtime.startContainer(latest.get().id());
        }
        Thread.sleep(poll);
      }
    }
    return true;
  }

  private void syncContainers() {
    int terminal = 0;
    int started = 0;
    boolean anyFailed = false;
    for (ContainerPlan container : plan.containers()) {
      Optional<ContainerView> latest = latest(container.name());
      if (latest.isEmpty()) {
        createAndStart(container, 0);
        continue;
      }
      ContainerView c = latest.get();
      started += c.state() == ContainerView.State.CREATED ? 0 : 1;
      switch (c.state()) {
        case CREATED -> runtime.startContainer(c.id());
        case RUNNING -> {}
        case EXITED -> {
          if (plan.restartPolicy().restarts(c.exitCode())) {
            restartWithBackoff(container, c);
          } else {
            terminal++;
            anyFailed |= c.exitCode() != 0;
          }
        }
        case UNKNOWN -> log.warn("pod {}: container {} is in an unknown state", key, c.name());
      }
    }
    // "ready" here means every container was started once (no probes yet).
    if (!announced && started == plan.containers().size()) {
      announced = true;
      String ports =
          plan.sandbox().ports().stream().map(PortPlan::describe).collect(Collectors.joining(", "));
      log.info(
          "pod {} ready: IP {}{}",
          key,
          runtime.sandboxIp(sandboxId).orElse("-"),
          ports.isEmpty() ? "" : " (ports " + ports + ")");
    }
    if (terminal == plan.containers().size()) {
      finished = true;
      log.info(
          "pod {} {}: every container exited and restartPolicy {} keeps them stopped",
          key,
          anyFailed ? "failed" : "succeeded",
          plan.restartPolicy());
    }
  }

  private void restartWithBackoff(ContainerPlan container, ContainerView exited) {
    RestartBackoff backoff = backoffs.computeIfAbsent(container.name(), n -> new RestartBackoff());
    if (handledExits.add(exited.id())) {
      Instant finishedAt = Instant.ofEpochSecond(0, exited.finishedAtNanos());
      backoff.exited(finishedAt);
      log.info(
          "pod {}: container {} (attempt {}) exited with code {}{}; restarting{}",
          key,
          container.name(),
          exited.attempt(),
          exited.exitCode(),
          exited.reason().isEmpty() ? "" : " (" + exited.reason() + ")",
          backoff.notBefore().isAfter(Instant.now())
              ? " after a back-off of " + backoff.currentDelay().toSeconds() + "s"
              : "");
    }
    if (!backoff.tryRestart(Instant.now())) {
      return;
    }
    // The kubelet keeps the last dead container for logs and status; older ones go.
    for (ContainerView old : runtime.containers(sandboxId)) {
      if (old.name().equals(container.name())
          && old.attempt() < exited.attempt()
          && old.state() == ContainerView.State.EXITED) {
        runtime.removeContainer(old.id());
      }
    }
    createAndStart(container, exited.attempt() + 1);
  }

  private void createAndStart(ContainerPlan container, int attempt) {
    runtime.ensureImage(container.image(), container.pullPolicy());
    String id = runtime.createContainer(sandboxId, plan.sandbox(), container, attempt);
    runtime.startContainer(id);
    log.info(
        "pod {}: container {} started (attempt {}, id {})",
        key,
        container.name(),
        attempt,
        shortId(id));
  }

  private Optional<ContainerView> latest(String name) {
    return runtime.containers(sandboxId).stream()
        .filter(c -> c.name().equals(name))
        .max(Comparator.comparingInt(ContainerView::attempt));
  }

  private void fail(String why) {
    finished = true;
    log.error("pod {} failed: {} and restartPolicy is Never", key, why);
  }

  private static void createDirectory(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new PodRuntimeException(
          PodRuntimeException.Kind.FAILED, "cannot create " + dir + ": " + e, e);
    }
  }

  private static String shortId(String id) {
    return PodTerminator.shortId(id);
  }
}
