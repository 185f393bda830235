package io.spawnlet.cri.activation;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.Rollback;
import io.spawnlet.cri.container.ContainerBundles;
import io.spawnlet.cri.host.NetnsListeners;
import io.spawnlet.cri.host.PodCgroups;
import io.spawnlet.cri.host.ProcessSpawner;
import io.spawnlet.cri.host.Syscalls;
import io.spawnlet.cri.oci.ContainerState;
import io.spawnlet.cri.oci.OciRuntime;
import io.spawnlet.cri.oci.RuntimeHandlers;
import io.spawnlet.cri.sandbox.PodSandboxQueries;
import io.spawnlet.cri.sandbox.SandboxLayout;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.ContainerConfig;
import runtime.v1.KeyValue;
import runtime.v1.PodSandboxConfig;

/**
 * Socket activation and idle auto-shutdown of pods ({@code spawnlet.io/activation: socket}).
 *
 * <pre>
 *  RunPodSandbox ── sockets opened in the pod netns, given to a holder ──► SLEEPING
 *  SLEEPING ── first readable socket (poller) ──► WAKING: conmon create (sockets as fds 3…,
 *             LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID=1) + start of every CRI-started container
 *  RUNNING  ── idle probe: nothing open or queued for the idle timeout ──► STOPPING: stop signal,
 *             grace, SIGKILL, runtime delete ──► SLEEPING (sockets stay open; queued
 *             connections wake the pod again)
 * </pre>
 *
 * A clean exit (code 0) of an awake container is a sleep as well; any other exit outside the stop
 * sequence is a crash and is recorded for the CRI as usual.
 */
public final class SocketActivation implements PodActivation, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SocketActivation.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The accept queue a burst of connections waits in while the pod boots. */
  static final int BACKLOG = 4096;

  static final Duration POLL_ROUND = Duration.ofMillis(100);
  static final Duration IDLE_CHECK = Duration.ofMillis(500);
  static final Duration KILL_GRACE = Duration.ofSeconds(10);
  static final Duration WAKE_FAILURE_BACKOFF = Duration.ofSeconds(1);
  private static final int SIGKILL = 9;

  private final StateStore state;
  private final SandboxLayout layout;
  private final ContainerBundles bundles;
  private final RuntimeHandlers handlers;
  private final PodCgroups cgroups;
  private final NetnsListeners listeners = new NetnsListeners();
  private final SocketHolder holders = new SocketHolder(new ProcessSpawner());
  private final ActivationMetrics metrics;
  private final BiConsumer<String, Integer> recordExit;
  private final Map<String, ActivatedPod> pods = new ConcurrentHashMap<>();
  private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
  private volatile boolean closed;
  private Thread poller;
  private Thread idleChecker;
  // The node's default (config.yaml defaultIdleTimeout); a pod's annotation overrides it.
  private volatile Duration defaultIdleTimeout = ActivationSpec.DEFAULT_IDLE_TIMEOUT;

  /**
   * @param recordExit records a container's exit for the CRI (a failed wake)
   */
  public SocketActivation(
      StateStore state,
      SandboxLayout layout,
      ContainerBundles bundles,
      RuntimeHandlers handlers,
      PodCgroups cgroups,
      ActivationMetrics metrics,
      BiConsumer<String, Integer> recordExit) {
    this.state = state;
    this.layout = layout;
    this.bundles = bundles;
    this.handlers = handlers;
    this.cgroups = cgroups;
    this.metrics = metrics;
    this.recordExit = recordExit;
  }

  /** The idle timeout of pods that do not set {@code spawnlet.io/idle-timeout}. */
  public void useDefaultIdleTimeout(Duration timeout) {
    defaultIdleTimeout = timeout;
  }

  /** Starts the socket poller and the idle checker. */
  public void start() {
    poller = Thread.ofPlatform().daemon().name("activation-poller").start(this::pollLoop);
    idleChecker = Thread.ofPlatform().daemon().name("activation-idle").start(this::idleLoop);
  }

  @Override
  public void validate(PodSandboxConfig config) {
    ActivationSpec.of(config, defaultIdleTimeout);
  }

  @Override
  public void open(
      String sandboxId, PodSandboxConfig config, Path netns, String cgroupParent, Rollback undo) {
    Optional<ActivationSpec> spec = ActivationSpec.of(config, defaultIdleTimeout);
    if (spec.isEmpty()) {
      return;
    }
    List<NetnsListeners.Listen> listens =
        spec.get().ports().stream()
            .map(p -> new NetnsListeners.Listen(p.protocol().socketType(), p.port()))
            .toList();
    NetnsListeners.Opened opened;
    try {
      opened = listeners.open(netns, listens, BACKLOG);
    } catch (RuntimeException e) {
      throw CriException.internal(
          "opening activation sockets "
              + spec.get().ports()
              + " in "
              + netns
              + ": "
              + e.getMessage(),
          e);
    }
    undo.push("close activation sockets", () -> opened.fds().forEach(Syscalls::close));
    SocketHolder.Holder holder =
        holders.start(netns, opened.fds(), layout.files(sandboxId).runDirectory());
    undo.push("stop socket holder", () -> holders.stop(holder, true));
    try {
      cgroups.addProcess(cgroupParent, holder.pid());
    } catch (RuntimeException e) {
      // A kubelet-named parent may not exist yet (the runtime creates it with the first
      // container): the holder then stays in the daemon's cgroup, which changes nothing else.
      log.warn(
          "socket holder {} of pod {} stays outside the pod cgroup: {}",
          holder.pid(),
          sandboxId,
          e.getMessage());
    }
    ActivatedPod pod =
        new ActivatedPod(sandboxId, spec.get(), opened.fds(), opened.dualStack(), holder, true);
    Path file = layout.files(sandboxId).activationState();
    pod.record().write(file);
    undo.push("delete activation state", () -> Files.deleteIfExists(file));
    pods.put(sandboxId, pod);
    undo.push("forget activated pod", () -> pods.remove(sandboxId));
    metrics.socketsOpened(opened.fds().size());
    undo.push("count closed sockets", () -> metrics.socketsClosed(opened.fds().size()));
    metrics.sleepingPods(1);
    undo.push("count the pod out", () -> metrics.sleepingPods(-1));
    log.info(
        "pod {} sleeps with activation sockets {} ({}), holder pid {}, idle timeout {}",
        sandboxId,
        spec.get().ports(),
        opened.dualStack() ? "dual-stack [::]" : "IPv4 0.0.0.0",
        holder.pid(),
        spec.get().idleTimeout());
  }

  @Override
  public boolean activated(String sandboxId) {
    return pods.containsKey(sandboxId);
  }

  @Override
  public ContainerConfig withListenEnv(String sandboxId, ContainerConfig config) {
    ActivatedPod pod = pods.get(sandboxId);
    if (pod == null) {
      return config;
    }
    List<ActivationPort> passed = pod.spec.passedPorts();
    if (passed.isEmpty()) {
      return config; // proxy mode only: the app listens on its own ports
    }
    String names = passed.stream().map(ActivationPort::fdName).collect(Collectors.joining(":"));
    // LISTEN_PID=1: the container's process is pid 1 of its own pid namespace.
    return config.toBuilder()
        .addEnvs(env("LISTEN_FDS", Integer.toString(passed.size())))
        .addEnvs(env("LISTEN_FDNAMES", names))
        .addEnvs(env("LISTEN_PID", "1"))
        .build();
  }

  private static KeyValue env(String key, String value) {
    return KeyValue.newBuilder()
        .setKey(key)
        .setValue(com.google.protobuf.ByteString.copyFromUtf8(value))
        .build();
  }

  @Override
  public void started(ContainerRecord c) {
    ActivatedPod pod = pods.get(c.sandboxId());
    if (pod != null && pod.state == ActivationState.RUNNING) {
      workers.submit(() -> wake(pod, System.nanoTime()));
    }
  }

  @Override
  public void releasing(ContainerRecord c) {
    ActivatedPod pod = pods.get(c.sandboxId());
    if (pod != null) {
      pod.released.add(c.id());
    }
  }

  @Override
  public boolean absorbsExit(String containerId, int exitCode) {
    Optional<ContainerRecord> rec = state.containers.get(containerId);
    if (rec.isEmpty()) {
      return false;
    }
    ActivatedPod pod = pods.get(rec.get().sandboxId());
    if (pod == null || pod.released.contains(containerId)) {
      return false;
    }
    CompletableFuture<Integer> waiter = pod.exitWaiters.get(containerId);
    if (waiter != null) {
      waiter.complete(exitCode);
      return true;
    }
    if (!pod.awake.contains(containerId)) {
      return true; // a repeated report of an exit already handled
    }
    if (exitCode == 0) {
      workers.submit(() -> exitedCleanly(pod, rec.get()));
      return true;
    }
    log.warn("activated container {} crashed (exit {}): recorded as exited", containerId, exitCode);
    pod.awake.remove(containerId);
    pod.released.add(containerId);
    return false;
  }

  @Override
  public void close(String sandboxId) {
    ActivatedPod pod = pods.remove(sandboxId);
    Path file = layout.files(sandboxId).activationState();
    if (pod != null) {
      pod.transitions.lock();
      try {
        stopProxy(pod);
        holders.stop(pod.holder, pod.holderIsChild);
        pod.fds.forEach(Syscalls::close);
        metrics.socketsClosed(pod.fds.size());
        if (pod.state == ActivationState.SLEEPING) {
          metrics.sleepingPods(-1);
        }
      } finally {
        pod.transitions.unlock();
      }
      log.info("pod {}: activation sockets closed, holder {} stopped", sandboxId, pod.holder.pid());
    } else {
      // Not adopted (e.g. a stopped pod after a restart): still end its holder.
      try {
        ActivationRecord.read(file)
            .ifPresent(
                r ->
                    holders.stop(
                        new SocketHolder.Holder(r.holderPid(), r.holderStartTime()), false));
      } catch (RuntimeException e) {
        log.warn("pod {}: {}", sandboxId, e.getMessage());
      }
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("deleting {}: {}", file, e.getMessage());
    }
  }

  @Override
  public void recover() {
    for (SandboxRecord s : state.sandboxes.all()) {
      if (s.state() != SandboxRecord.State.READY) {
        continue;
      }
      Path file = layout.files(s.id()).activationState();
      Optional<ActivationRecord> rec;
      Optional<ActivationSpec> spec;
      try {
        rec = ActivationRecord.read(file);
        spec = ActivationSpec.of(PodSandboxQueries.config(s), defaultIdleTimeout);
      } catch (RuntimeException e) {
        log.error("pod {}: cannot recover its activation: {}", s.id(), e.getMessage());
        continue;
      }
      if (rec.isEmpty() || spec.isEmpty()) {
        continue;
      }
      ActivationRecord r = rec.get();
      Optional<List<Integer>> fds =
          holders.adopt(r.holderPid(), r.holderStartTime(), spec.get().ports().size());
      if (fds.isEmpty()) {
        log.error(
            "pod {}: socket holder {} is gone, its sockets are lost; the pod stays asleep"
                + " without sockets (recreate it)",
            s.id(),
            r.holderPid());
        continue;
      }
      ActivatedPod pod =
          new ActivatedPod(
              s.id(),
              spec.get(),
              fds.get(),
              r.dualStack(),
              new SocketHolder.Holder(r.holderPid(), r.holderStartTime()),
              false);
      pod.wakes = r.wakes();
      pod.lastWakeMillis = r.lastWakeMillis();
      pod.lastWakeLatencyMicros = r.lastWakeLatencyMicros();
      for (ContainerRecord c : state.containersOf(s.id())) {
        if (c.state() != ContainerRecord.State.RUNNING) {
          continue;
        }
        OciRuntime runtime = handlers.runtime(c.runtimeHandler());
        Optional<ContainerState> rs = runtime.state(c.id());
        if (rs.map(x -> x.status() != ContainerState.Status.STOPPED).orElse(false)) {
          pod.awake.add(c.id());
        } else if (rs.isPresent()) {
          runtime.delete(c.id(), true, s.cgroupParent()); // went to sleep while we were down
          asleep(c.id());
        }
      }
      pod.state = pod.awake.isEmpty() ? ActivationState.SLEEPING : ActivationState.RUNNING;
      if (pod.state == ActivationState.RUNNING) {
        startProxy(pod, s);
      }
      pods.put(s.id(), pod);
      metrics.socketsOpened(pod.fds.size());
      if (pod.state == ActivationState.SLEEPING) {
        metrics.sleepingPods(1);
      }
      log.info(
          "pod {}: took back {} activation sockets from holder {}; {}",
          s.id(),
          pod.fds.size(),
          r.holderPid(),
          pod.state.label());
    }
  }

  @Override
  public boolean recovered(ContainerRecord c) {
    return pods.containsKey(c.sandboxId()) && !c.sandboxId().isEmpty();
  }

  @Override
  public Optional<Map<String, Object>> info(String sandboxId) {
    ActivatedPod pod = pods.get(sandboxId);
    if (pod == null) {
      return Optional.empty();
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("state", pod.state == ActivationState.STOPPING ? "running" : pod.state.label());
    m.put("wakes", pod.wakes);
    m.put("sleeps", pod.sleeps);
    m.put(
        "lastWake",
        pod.lastWakeMillis == 0 ? "" : Instant.ofEpochMilli(pod.lastWakeMillis).toString());
    m.put("lastWakeLatencyMillis", pod.lastWakeLatencyMicros / 1000.0);
    m.put("idleTimeout", pod.spec.idleTimeout().toString());
    m.put("ports", pod.spec.ports().stream().map(ActivationPort::toString).toList());
    m.put("address", pod.dualStack ? "[::]" : "0.0.0.0");
    m.put("holderPid", pod.holder.pid());
    return Optional.of(m);
  }

  // --- the poller: wakes sleeping pods on their first readable socket ---------------------------

  private void pollLoop() {
    while (!closed) {
      List<ActivatedPod> watched = new ArrayList<>();
      List<Integer> fds = new ArrayList<>();
      List<ActivatedPod> owners = new ArrayList<>();
      long now = System.nanoTime();
      for (ActivatedPod pod : pods.values()) {
        if (pod.state == ActivationState.SLEEPING
            && now >= pod.wakeBlockedUntilNanos
            && hasStartedContainers(pod)) {
          watched.add(pod);
          for (int fd : pod.fds) {
            fds.add(fd);
            owners.add(pod);
          }
        }
      }
      if (fds.isEmpty()) {
        sleep(POLL_ROUND);
        continue;
      }
      List<Integer> ready;
      try {
        ready =
            Syscalls.pollReadable(
                fds.stream().mapToInt(Integer::intValue).toArray(), (int) POLL_ROUND.toMillis());
      } catch (RuntimeException e) {
        // A pod closed meanwhile (EBADF is not reported by poll, but be safe): next round.
        log.debug("activation poll: {}", e.getMessage());
        continue;
      }
      long t0 = System.nanoTime();
      for (int i : ready) {
        ActivatedPod pod = owners.get(i);
        if (pod.state == ActivationState.SLEEPING && pods.get(pod.sandboxId) == pod) {
          pod.state = ActivationState.WAKING;
          metrics.sleepingPods(-1);
          workers.submit(() -> wake(pod, t0));
        }
      }
    }
  }

  private boolean hasStartedContainers(ActivatedPod pod) {
    for (ContainerRecord c : state.containersOf(pod.sandboxId)) {
      if (c.state() == ContainerRecord.State.RUNNING && !pod.released.contains(c.id())) {
        return true;
      }
    }
    return false;
  }

  /** Creates and starts every CRI-started container of the pod that does not run yet. */
  private void wake(ActivatedPod pod, long requestedNanos) {
    pod.transitions.lock();
    try {
      if (pods.get(pod.sandboxId) != pod) {
        return;
      }
      boolean waking = pod.state != ActivationState.RUNNING;
      pod.state = ActivationState.WAKING;
      SandboxRecord sandbox = state.sandboxes.get(pod.sandboxId).orElseThrow();
      boolean failed = false;
      for (ContainerRecord c : state.containersOf(pod.sandboxId)) {
        if (c.state() != ContainerRecord.State.RUNNING
            || pod.released.contains(c.id())
            || pod.awake.contains(c.id())) {
          continue;
        }
        try {
          OciRuntime runtime = handlers.runtime(c.runtimeHandler());
          int pid = bundles.createRuntime(c, sandbox, pod.passedFds());
          runtime.start(c.id());
          pod.awake.add(c.id());
          state.containers.update(c.id(), r -> r.withPid(pid));
          log.info("pod {}: container {} woke (pid {})", pod.sandboxId, c.id(), pid);
        } catch (RuntimeException e) {
          failed = true;
          log.error(
              "pod {}: waking container {} failed: {}", pod.sandboxId, c.id(), e.getMessage());
          pod.released.add(c.id());
          recordExit.accept(c.id(), 128);
        }
      }
      long latency = System.nanoTime() - requestedNanos;
      pod.lastBusyNanos = System.nanoTime();
      if (pod.awake.isEmpty()) {
        pod.state = ActivationState.SLEEPING;
        metrics.sleepingPods(1);
        if (failed) {
          pod.wakeBlockedUntilNanos = System.nanoTime() + WAKE_FAILURE_BACKOFF.toNanos();
        }
        return;
      }
      pod.state = ActivationState.RUNNING;
      startProxy(pod, sandbox);
      if (waking) {
        pod.wakes++;
        pod.lastWakeMillis = System.currentTimeMillis();
        pod.lastWakeLatencyMicros = latency / 1000;
        metrics.woke(latency);
        persist(pod);
        log.info("pod {} woke in {} ms (wake {})", pod.sandboxId, latency / 1_000_000.0, pod.wakes);
      }
    } finally {
      pod.transitions.unlock();
    }
  }

  // --- idle detection and sleep ------------------------------------------------------------------

  private void idleLoop() {
    while (!closed) {
      sleep(IDLE_CHECK);
      long now = System.nanoTime();
      for (ActivatedPod pod : pods.values()) {
        Duration idle = pod.spec.idleTimeout();
        if (pod.state != ActivationState.RUNNING || idle.isZero()) {
          continue;
        }
        try {
          if (IdleProbe.busy(pod.holder.pid(), pod.spec.ports())) {
            pod.lastBusyNanos = now;
          } else if (now - pod.lastBusyNanos >= idle.toNanos()) {
            pod.state = ActivationState.STOPPING;
            workers.submit(() -> putToSleep(pod));
          }
        } catch (RuntimeException e) {
          log.warn("pod {}: idle probe failed: {}", pod.sandboxId, e.getMessage());
        }
      }
    }
  }

  /** Stops every awake container (stop signal, grace, SIGKILL) and deletes it from the runtime. */
  private void putToSleep(ActivatedPod pod) {
    pod.transitions.lock();
    try {
      if (pods.get(pod.sandboxId) != pod || pod.state != ActivationState.STOPPING) {
        return;
      }
      log.info("pod {} idle for {}: going to sleep", pod.sandboxId, pod.spec.idleTimeout());
      stopProxy(pod);
      String cgroupParent =
          state.sandboxes.get(pod.sandboxId).map(SandboxRecord::cgroupParent).orElse("");
      for (String id : List.copyOf(pod.awake)) {
        Optional<ContainerRecord> c = state.containers.get(id);
        if (c.isEmpty()) {
          pod.awake.remove(id);
          continue;
        }
        stopAndDelete(pod, c.get(), cgroupParent);
      }
      pod.state = ActivationState.SLEEPING;
      pod.sleeps++;
      metrics.slept();
      metrics.sleepingPods(1);
      log.info("pod {} sleeps", pod.sandboxId);
    } finally {
      pod.transitions.unlock();
    }
  }

  private void stopAndDelete(ActivatedPod pod, ContainerRecord c, String cgroupParent) {
    OciRuntime runtime = handlers.runtime(c.runtimeHandler());
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    pod.exitWaiters.put(c.id(), exit);
    try {
      bundles.exitCodeIfExited(c.id()).ifPresent(exit::complete);
      int signal = c.stopSignal() > 0 ? c.stopSignal() : 15;
      if (!exit.isDone() && !signalQuietly(runtime, c.id(), signal)) {
        exit.complete(-1); // not running any more
      }
      Duration grace = pod.spec.stopTimeout(c.annotations());
      if (!await(exit, grace)) {
        log.info(
            "pod {}: container {} ignored signal {} for {}: SIGKILL",
            pod.sandboxId,
            c.id(),
            signal,
            grace);
        signalQuietly(runtime, c.id(), SIGKILL);
        if (!await(exit, KILL_GRACE)) {
          log.warn("pod {}: no exit reported for {} after SIGKILL", pod.sandboxId, c.id());
        }
      }
      runtime.delete(c.id(), true, cgroupParent);
    } finally {
      pod.exitWaiters.remove(c.id());
      pod.awake.remove(c.id());
      asleep(c.id());
    }
  }

  /** An awake container exited 0 by itself: it sleeps; the pod sleeps when none is awake. */
  private void exitedCleanly(ActivatedPod pod, ContainerRecord c) {
    pod.transitions.lock();
    try {
      if (!pod.awake.remove(c.id())) {
        return;
      }
      String cgroupParent =
          state.sandboxes.get(pod.sandboxId).map(SandboxRecord::cgroupParent).orElse("");
      handlers.runtime(c.runtimeHandler()).delete(c.id(), true, cgroupParent);
      asleep(c.id());
      log.info("pod {}: container {} exited cleanly: asleep", pod.sandboxId, c.id());
      if (pod.awake.isEmpty() && pod.state == ActivationState.RUNNING) {
        stopProxy(pod);
        pod.state = ActivationState.SLEEPING;
        pod.sleeps++;
        metrics.slept();
        metrics.sleepingPods(1);
        log.info("pod {} sleeps", pod.sandboxId);
      }
    } finally {
      pod.transitions.unlock();
    }
  }

  /** Proxy mode: accept on the proxied ports while the pod is awake. */
  private static void startProxy(ActivatedPod pod, SandboxRecord sandbox) {
    Map<Integer, Integer> proxied = pod.proxiedFds();
    if (proxied.isEmpty() || pod.proxy != null || sandbox.ips().isEmpty()) {
      return;
    }
    try {
      pod.proxy =
          new ActivationProxy(
              pod.sandboxId, java.net.InetAddress.getByName(sandbox.ips().get(0)), proxied);
    } catch (java.net.UnknownHostException e) {
      log.error("pod {}: no proxy, bad pod IP {}", pod.sandboxId, sandbox.ips().get(0));
    }
  }

  private static void stopProxy(ActivatedPod pod) {
    ActivationProxy p = pod.proxy;
    if (p != null) {
      pod.proxy = null;
      p.close();
    }
  }

  /** A sleeping container has no pid (still RUNNING to the CRI). */
  private void asleep(String containerId) {
    state.containers.update(
        containerId, r -> r.state() == ContainerRecord.State.RUNNING ? r.withPid(0) : r);
  }

  private static boolean signalQuietly(OciRuntime runtime, String id, int signal) {
    try {
      runtime.kill(id, signal, false);
      return true;
    } catch (CriException e) {
      return false;
    }
  }

  private static boolean await(CompletableFuture<Integer> f, Duration timeout) {
    try {
      f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      return true;
    }
  }

  private void persist(ActivatedPod pod) {
    try {
      pod.record().write(layout.files(pod.sandboxId).activationState());
    } catch (RuntimeException e) {
      log.warn("pod {}: {}", pod.sandboxId, e.getMessage());
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the threads; sockets and holders stay (they outlive the daemon by design). */
  @Override
  public void close() {
    closed = true;
    if (poller != null) {
      poller.interrupt();
    }
    if (idleChecker != null) {
      idleChecker.interrupt();
    }
    workers.shutdownNow();
  }
}
