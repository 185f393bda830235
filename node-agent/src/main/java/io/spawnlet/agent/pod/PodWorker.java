package io.spawnlet.agent.pod;

import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import io.spawnlet.agent.pod.PodRuntime.SandboxStatus;
import io.spawnlet.agent.pod.PodRuntime.SandboxView;
import io.spawnlet.agent.pod.PodSnapshot.ContainerSnapshot;
import io.spawnlet.agent.pod.PodSnapshot.Phase;
import io.spawnlet.agent.pod.PodSnapshot.Problem;
import io.spawnlet.agent.probe.LifecycleHandler;
import io.spawnlet.agent.probe.LifecycleHookRunner;
import io.spawnlet.agent.probe.ProbePlan;
import io.spawnlet.agent.probe.ProbeRunner;
import io.spawnlet.agent.probe.ProbeTracker;
import io.spawnlet.agent.volume.AtomicVolumeWriter;
import io.spawnlet.agent.volume.MemoryVolumes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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
 * Keeps one pod running on its own virtual thread, the kubelet's way. Static pods and pods from the
 * apiserver share it; only their {@link PodPlanSource} and {@link PodObserver} differ.
 *
 * <pre>
 *   plan the pod (configMaps, secrets, tokens read now; a missing one: CreateContainerConfigError, retried)
 *     → adopt a ready sandbox with the pod's uid ─or─ write volumes, run a new sandbox
 *     → init containers in order, each until it exits 0 (restarted with back-off)
 *     → app containers created and started, each one's postStart hook run (a failure kills it)
 *     → every poll: probes; exited containers restarted per restartPolicy with back-off;
 *       every refresh: plan again, volume files rewritten when their sources changed
 *     → the observer gets a snapshot after every sync
 *   detach(): the thread ends, the pod keeps running (agent restart, SIGTERM)
 *   terminate(grace): preStop hooks, containers stopped within the grace period, sandbox stopped
 *     and removed
 * </pre>
 *
 * Runtime failures are logged and retried with the same back-off; the pod's state lives in the
 * runtime, so the worker can be stopped and a new one adopts the pod.
 */
final class PodWorker {
  private static final Logger log = LoggerFactory.getLogger(PodWorker.class);
  private static final Duration REFRESH = Duration.ofSeconds(10);

  /**
   * A bound on a postStart hook, which the kubelet leaves unbounded: the pod's worker waits for it
   * and would otherwise never notice a deletion.
   */
  private static final Duration POST_START_TIMEOUT = Duration.ofMinutes(2);

  /** Works out the pod's plan; {@code podIps} are empty before its sandbox exists. */
  interface PodPlanSource {
    PodPlan plan(List<String> podIps);
  }

  private enum Ending {
    DETACH,
    TERMINATE
  }

  private final String key;
  private final String uid;
  private final PodPlanSource source;
  private final PodRuntime runtime;
  private final PodTerminator terminator;
  private final PodObserver observer;
  private final ProbeRunner prober;
  private final LifecycleHookRunner hooks;
  private final Duration poll;
  private final Map<String, RestartBackoff> backoffs = new HashMap<>();
  private final Set<String> handledExits = new HashSet<>();
  private final Map<String, Problem> waiting = new HashMap<>();
  private final Map<String, ContainerProbes> probes = new HashMap<>();
  private volatile Ending ending;
  private volatile Duration terminationGrace;
  private Thread thread;
  private PodPlan plan;
  private Instant planned = Instant.MIN;
  private String sandboxId;
  private SandboxStatus sandboxStatus = new SandboxStatus(List.of(), Optional.empty());
  private boolean initDone;
  private boolean announced;
  private Phase finished;
  private Problem problem;

  PodWorker(
      String key,
      String uid,
      PodPlanSource source,
      PodRuntime runtime,
      PodTerminator terminator,
      PodObserver observer,
      ProbeRunner prober,
      Duration poll) {
    this.key = key;
    this.uid = uid;
    this.source = source;
    this.runtime = runtime;
    this.terminator = terminator;
    this.observer = observer;
    this.prober = prober;
    this.hooks = new LifecycleHookRunner(runtime);
    this.poll = poll;
  }

  /** A static pod's worker: its plan is fixed, nobody observes it. */
  static PodWorker forStaticPod(
      PodPlan plan, PodRuntime runtime, PodTerminator terminator, Duration poll) {
    return forStaticPod(plan, runtime, terminator, poll, PodObserver.IGNORE);
  }

  /** A static pod's worker: its plan is fixed; {@code observer} reports to its mirror pod. */
  static PodWorker forStaticPod(
      PodPlan plan,
      PodRuntime runtime,
      PodTerminator terminator,
      Duration poll,
      PodObserver observer) {
    return new PodWorker(
        plan.sandbox().key(),
        plan.sandbox().uid(),
        ips -> plan,
        runtime,
        terminator,
        observer,
        new ProbeRunner(runtime),
        poll);
  }

  String uid() {
    return uid;
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

  /** Ends the worker after stopping and removing the pod with {@code grace}. */
  void terminate(Duration grace) {
    terminationGrace = grace;
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
        observer.synced(snapshot());
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
      Duration grace =
          terminationGrace != null
              ? terminationGrace
              : plan != null ? plan.sandbox().terminationGrace() : Duration.ofSeconds(30);
      try {
        terminator.terminate(key, uid, grace, preStops(), observer);
      } catch (RuntimeException e) {
        log.error("pod {}: could not stop and remove it: {}", key, e.getMessage());
      }
    }
  }

  /** The planned containers' preStop hooks by name (none before the pod was planned). */
  private Map<String, LifecycleHandler> preStops() {
    Map<String, LifecycleHandler> hooks = new HashMap<>();
    if (plan != null) {
      plan.containers().forEach(c -> c.preStop().ifPresent(h -> hooks.put(c.name(), h)));
    }
    return hooks;
  }

  private void step() throws InterruptedException {
    if (finished == Phase.FAILED && plan == null) {
      return; // refused: nothing to run
    }
    if (plan == null || Instant.now().isAfter(planned.plus(REFRESH))) {
      if (!replan()) {
        return;
      }
    }
    if (sandboxId == null) {
      sandboxId = adoptOrRunSandbox();
      sandboxStatus = runtime.sandboxStatus(sandboxId);
      replan(); // now with the pod's IPs
    } else {
      sandboxStatus = runtime.sandboxStatus(sandboxId);
    }
    if (finished != null) {
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

  /**
   * Plans the pod again; false while it cannot be planned (refused for good, or inputs missing).
   */
  private boolean replan() {
    try {
      PodPlan next = source.plan(sandboxStatus.ips());
      if (plan != null) {
        writeFileVolumes(next);
      }
      plan = next;
      planned = Instant.now();
      waiting.values().removeIf(p -> p.reason().equals("CreateContainerConfigError"));
      return true;
    } catch (PodRefusedException e) {
      if (plan == null) {
        finished = Phase.FAILED;
        problem = new Problem("SpawnletRefused", e.getMessage());
        observer.event(true, "FailedCreate", "spawnlet cannot run this pod: " + e.getMessage());
        log.error("pod {} refused: {}", key, e.getMessage());
        return false;
      }
      return true; // an update spawnlet cannot honour: keep running what was planned
    } catch (PodInputException e) {
      if (plan == null || !announced) {
        List<String> names = new ArrayList<>();
        if (plan != null) {
          plan.initContainers().forEach(c -> names.add(c.name()));
          plan.containers().forEach(c -> names.add(c.name()));
        }
        waitingAll(names, new Problem("CreateContainerConfigError", e.getMessage()));
        if (!e.getMessage().equals(problem == null ? null : problem.message())) {
          observer.event(true, "Failed", "Error: " + e.getMessage());
          log.warn("pod {}: {}", key, e.getMessage());
        }
        problem = new Problem("CreateContainerConfigError", e.getMessage());
      }
      return plan != null;
    }
  }

  private void waitingAll(List<String> names, Problem why) {
    names.forEach(n -> waiting.put(n, why));
    waiting.put("", why);
  }

  private String adoptOrRunSandbox() {
    List<SandboxView> existing =
        runtime.sandboxes(Map.of(PodPlanner.POD_UID_LABEL, uid)).stream()
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
    prepareVolumes();
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
    String id = runtime.runSandbox(plan.sandbox());
    log.info("pod {}: sandbox {} started", key, shortId(id));
    observer.event(false, "SandboxReady", "Pod sandbox " + shortId(id) + " is ready");
    return id;
  }

  private void prepareVolumes() {
    try {
      for (Path dir : plan.directories()) {
        Files.createDirectories(dir);
      }
      Files.createDirectories(plan.sandbox().logDirectory());
      for (MemoryVolume m : plan.memoryVolumes()) {
        MemoryVolumes.mount(m.dir(), m.sizeBytes());
      }
    } catch (IOException e) {
      throw new PodRuntimeException(
          PodRuntimeException.Kind.FAILED, "cannot prepare the pod's volumes: " + e, e);
    }
    writeFileVolumes(plan);
  }

  private void writeFileVolumes(PodPlan p) {
    for (FileVolume v : p.fileVolumes()) {
      try {
        if (AtomicVolumeWriter.write(v.dir(), v.files()) && plan != null && announced) {
          log.info("pod {}: volume {} updated", key, v.name());
        }
      } catch (IOException e) {
        throw new PodRuntimeException(
            PodRuntimeException.Kind.FAILED,
            "cannot write volume " + v.name() + " at " + v.dir() + ": " + e,
            e);
      }
    }
  }

  /** One pass over the init containers; true once every one has exited 0. */
  private boolean runInitContainers() {
    for (ContainerPlan init : plan.initContainers()) {
      Optional<ContainerView> latest = latest(init.name());
      if (latest.isEmpty()) {
        createAndStart(init, 0);
        return false;
      }
      ContainerView c = latest.get();
      switch (c.state()) {
        case EXITED -> {
          if (c.exitCode() == 0) {
            continue;
          }
          if (plan.restartPolicy() == RestartPolicy.NEVER) {
            fail(
                "Init:Error",
                "init container " + init.name() + " exited with code " + c.exitCode());
            return false;
          }
          restartWithBackoff(init, c);
          return false;
        }
        case CREATED -> {
          runtime.startContainer(c.id());
          return false;
        }
        default -> {
          return false;
        }
      }
    }
    return true;
  }

  private void syncContainers() {
    int terminal = 0;
    int started = 0;
    boolean anyFailed = false;
    boolean awake = !sandboxStatus.activation().map(a -> !a.equals("running")).orElse(false);
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
        case RUNNING -> {
          waiting.remove(container.name());
          if (awake) {
            probe(container, c);
          }
        }
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
    if (!announced && started == plan.containers().size()) {
      announced = true;
      String ports =
          plan.sandbox().ports().stream().map(PortPlan::describe).collect(Collectors.joining(", "));
      log.info(
          "pod {} ready: IP {}{}",
          key,
          sandboxStatus.ips().stream().findFirst().orElse("-"),
          ports.isEmpty() ? "" : " (ports " + ports + ")");
    }
    if (terminal == plan.containers().size()) {
      finished = anyFailed ? Phase.FAILED : Phase.SUCCEEDED;
      log.info(
          "pod {} {}: every container exited and restartPolicy {} keeps them stopped",
          key,
          anyFailed ? "failed" : "succeeded",
          plan.restartPolicy());
    }
  }

  /** Runs the container's due probes; a failed liveness or startup probe kills it. */
  private void probe(ContainerPlan container, ContainerView c) {
    ContainerProbes p =
        probes.computeIfAbsent(
            c.id(),
            id -> {
              probes.keySet().removeIf(old -> !old.equals(id) && isOf(old, container.name()));
              return new ContainerProbes(container, c);
            });
    Instant now = Instant.now();
    String ip = sandboxStatus.ips().stream().findFirst().orElse("127.0.0.1");
    if (p.startup != null && p.startup.result().orElse(false) == false) {
      if (p.startup.due(now)) {
        ProbeRunner.Result r = prober.run(p.startup.plan(), c.id(), ip);
        Optional<Boolean> result = p.startup.record(r.success(), now);
        if (!r.success()) {
          observer.event(true, "Unhealthy", "Startup probe failed: " + r.detail());
        }
        if (result.isPresent() && !result.get()) {
          kill(container, c, "failed startup probe");
        }
      }
      return;
    }
    if (p.liveness != null && p.liveness.due(now)) {
      ProbeRunner.Result r = prober.run(p.liveness.plan(), c.id(), ip);
      Optional<Boolean> result = p.liveness.record(r.success(), now);
      if (!r.success()) {
        observer.event(true, "Unhealthy", "Liveness probe failed: " + r.detail());
      }
      if (result.isPresent() && !result.get()) {
        kill(container, c, "failed liveness probe");
        return;
      }
    }
    if (p.readiness != null && p.readiness.due(now)) {
      ProbeRunner.Result r = prober.run(p.readiness.plan(), c.id(), ip);
      p.readiness.record(r.success(), now);
      if (!r.success()) {
        observer.event(true, "Unhealthy", "Readiness probe failed: " + r.detail());
      }
    }
  }

  private boolean isOf(String containerId, String name) {
    ContainerProbes p = probes.get(containerId);
    return p != null && p.name.equals(name);
  }

  private void kill(ContainerPlan container, ContainerView c, String why) {
    String message = "Container " + container.name() + " " + why + ", will be restarted";
    log.info("pod {}: {}", key, message);
    observer.event(false, "Killing", message);
    terminator.stopContainer(
        key,
        c,
        sandboxStatus.ips().stream().findFirst().orElse("127.0.0.1"),
        plan.sandbox().terminationGrace(),
        container.preStop(),
        observer);
    probes.remove(c.id());
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
      String message =
          "back-off "
              + backoff.currentDelay().toSeconds()
              + "s restarting failed container="
              + container.name();
      if (!waiting.containsKey(container.name())) {
        observer.event(true, "BackOff", "Back-off restarting failed container " + container.name());
      }
      waiting.put(container.name(), new Problem("CrashLoopBackOff", message));
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
    try {
      runtime.ensureImage(container.image(), container.pullPolicy(), plan.pullCredentials());
    } catch (PodRuntimeException e) {
      waiting.put(container.name(), new Problem("ErrImagePull", e.getMessage()));
      observer.event(
          true, "Failed", "Failed to pull image \"" + container.image() + "\": " + e.getMessage());
      throw e;
    }
    String id = runtime.createContainer(sandboxId, plan.sandbox(), container, attempt);
    runtime.startContainer(id);
    waiting.remove(container.name());
    observer.event(false, "Started", "Started container " + container.name());
    log.info(
        "pod {}: container {} started (attempt {}, id {})",
        key,
        container.name(),
        attempt,
        shortId(id));
    container.postStart().ifPresent(hook -> runPostStart(container, id, hook));
  }

  /**
   * The kubelet's postStart: run right after the start, the worker waiting for it; a failed hook
   * kills the container, which restartPolicy then restarts with back-off. In a sleeping
   * (socket-activated) pod the container does not run yet and the hook would wake the pod, so the
   * hook is not run there.
   */
  private void runPostStart(ContainerPlan container, String id, LifecycleHandler hook) {
    if (sandboxStatus.activation().map(a -> !a.equals("running")).orElse(false)) {
      log.info(
          "pod {}: postStart hook of container {} not run: the pod is asleep (socket activation)",
          key,
          container.name());
      return;
    }
    String ip = sandboxStatus.ips().stream().findFirst().orElse("127.0.0.1");
    Optional<String> failure = hooks.run(hook, id, ip, POST_START_TIMEOUT);
    if (failure.isEmpty()) {
      return;
    }
    String message =
        "PostStartHook failed for container " + container.name() + ": " + failure.get();
    log.warn("pod {}: {}; killing the container", key, message);
    observer.event(true, "FailedPostStartHook", message);
    runtime.stopContainer(id, plan.sandbox().terminationGrace());
  }

  private Optional<ContainerView> latest(String name) {
    return runtime.containers(sandboxId).stream()
        .filter(c -> c.name().equals(name))
        .max(Comparator.comparingInt(ContainerView::attempt));
  }

  private void fail(String reason, String why) {
    finished = Phase.FAILED;
    problem = new Problem(reason, why);
    log.error("pod {} failed: {} and restartPolicy is Never", key, why);
  }

  /** The pod as of now, for the observer. */
  private PodSnapshot snapshot() {
    if (plan == null) {
      return new PodSnapshot(
          finished == null ? Phase.PENDING : finished,
          Optional.ofNullable(problem),
          false,
          List.of(),
          false,
          Optional.empty(),
          List.of(),
          List.of());
    }
    List<ContainerView> all = sandboxId == null ? List.of() : runtime.containers(sandboxId);
    List<ContainerSnapshot> inits =
        plan.initContainers().stream().map(c -> containerSnapshot(c, all)).toList();
    List<ContainerSnapshot> apps =
        plan.containers().stream().map(c -> containerSnapshot(c, all)).toList();
    Phase phase;
    if (finished != null) {
      phase = finished;
    } else if (initDone && apps.stream().allMatch(c -> c.current().isPresent())) {
      phase = Phase.RUNNING;
    } else {
      phase = Phase.PENDING;
    }
    Optional<Boolean> awake = sandboxStatus.activation().map(a -> a.equals("running"));
    return new PodSnapshot(
        phase,
        Optional.ofNullable(finished == Phase.FAILED ? problem : null),
        sandboxId != null,
        sandboxStatus.ips(),
        initDone,
        awake,
        inits,
        apps);
  }

  private ContainerSnapshot containerSnapshot(ContainerPlan plan, List<ContainerView> all) {
    List<ContainerView> mine =
        all.stream()
            .filter(c -> c.name().equals(plan.name()))
            .sorted(Comparator.comparingInt(ContainerView::attempt).reversed())
            .toList();
    Optional<ContainerView> current = mine.stream().findFirst();
    Optional<ContainerView> previous = mine.stream().skip(1).findFirst();
    boolean running = current.map(c -> c.state() == ContainerView.State.RUNNING).orElse(false);
    ContainerProbes p = current.map(c -> probes.get(c.id())).orElse(null);
    boolean started =
        running
            && (plan.startupProbe().isEmpty()
                || (p != null && p.startup != null && p.startup.result().orElse(false)));
    boolean ready =
        started
            && (plan.readinessProbe().isEmpty()
                || (p != null && p.readiness != null && p.readiness.result().orElse(false))
                || sandboxStatus.activation().map(a -> !a.equals("running")).orElse(false));
    Optional<Problem> why = Optional.ofNullable(waiting.get(plan.name()));
    if (why.isEmpty() && current.isEmpty()) {
      why =
          Optional.of(
              initDone || this.plan.initContainers().contains(plan)
                  ? new Problem("ContainerCreating", "")
                  : new Problem("PodInitializing", ""));
    }
    return new ContainerSnapshot(
        plan.name(),
        plan.image(),
        current,
        previous,
        current.map(ContainerView::attempt).orElse(0),
        started,
        ready,
        why);
  }

  /** The probe trackers of one container instance, made when it is first seen running. */
  private static final class ContainerProbes {
    final String name;
    final ProbeTracker startup;
    final ProbeTracker liveness;
    final ProbeTracker readiness;

    ContainerProbes(ContainerPlan plan, ContainerView c) {
      this.name = plan.name();
      Instant started =
          c.startedAtNanos() > 0 ? Instant.ofEpochSecond(0, c.startedAtNanos()) : Instant.now();
      this.startup = tracker(plan.startupProbe(), started);
      this.liveness = tracker(plan.livenessProbe(), started);
      this.readiness = tracker(plan.readinessProbe(), started);
    }

    private static ProbeTracker tracker(Optional<ProbePlan> p, Instant started) {
      return p.map(x -> new ProbeTracker(x, started)).orElse(null);
    }
  }

  private static String shortId(String id) {
    return PodTerminator.shortId(id);
  }
}
