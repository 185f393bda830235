package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.HostIP;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.spawnlet.agent.node.Times;
import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import io.spawnlet.agent.pod.PodSnapshot.ContainerSnapshot;
import io.spawnlet.agent.pod.PodSnapshot.Phase;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One apiserver pod's {@link PodObserver}: turns each snapshot into the pod's status the kubelet's
 * way (phase; conditions PodScheduled, PodReadyToStartContainers, Initialized, ContainersReady,
 * Ready and, for a socket-activated pod, {@code spawnlet.io/Awake}; container statuses with ids
 * {@code spawnlet://<id>}, state and lastState, restart counts; pod and host IPs; start time) and
 * hands it to {@link PodStatusUpdates} when it differs from the last one. Events go to {@link
 * PodEvents}.
 */
final class PodStatusWriter implements PodObserver {
  static final String AWAKE_CONDITION = "spawnlet.io/Awake";

  private final PodRef pod;
  private final List<String> hostIps;
  private final PodStatusUpdates updates;
  private final PodEvents events;
  private final String startTime = Times.seconds(Instant.now());
  private final Map<String, PodCondition> conditions = new HashMap<>();
  private Optional<Boolean> lastAwake = Optional.empty();

  /** The pod a writer reports on. */
  record PodRef(String namespace, String name, String uid) {}

  PodStatusWriter(PodRef pod, List<String> hostIps, PodStatusUpdates updates, PodEvents events) {
    this.pod = pod;
    this.hostIps = hostIps;
    this.updates = updates;
    this.events = events;
  }

  @Override
  public void synced(PodSnapshot s) {
    if (s.awake().isPresent() && !s.awake().equals(lastAwake)) {
      if (lastAwake.isPresent()) {
        event(
            false,
            s.awake().get() ? "Woken" : "Sleeping",
            s.awake().get()
                ? "A connection woke the pod: its containers run"
                : "The pod is asleep: its sockets stay open, no process runs");
      }
      lastAwake = s.awake();
    }
    updates.offer(pod, status(s));
  }

  @Override
  public void event(boolean warning, String reason, String message) {
    events.record(pod, warning, reason, message);
  }

  PodStatus status(PodSnapshot s) {
    Instant now = Instant.now();
    List<String> unreadyApps =
        s.containers().stream().filter(c -> !c.ready()).map(ContainerSnapshot::name).toList();
    List<String> unfinishedInits =
        s.initContainers().stream()
            .filter(
                c ->
                    !c.current()
                        .map(v -> v.state() == ContainerView.State.EXITED && v.exitCode() == 0)
                        .orElse(false))
            .map(ContainerSnapshot::name)
            .toList();
    boolean terminal = s.phase() == Phase.SUCCEEDED || s.phase() == Phase.FAILED;
    List<PodCondition> list = new ArrayList<>();
    list.add(condition("PodScheduled", true, "", "", now));
    list.add(condition("PodReadyToStartContainers", s.sandboxReady(), "", "", now));
    list.add(
        s.initialized() || unfinishedInits.isEmpty()
            ? condition("Initialized", true, "", "", now)
            : condition(
                "Initialized",
                false,
                "ContainersNotInitialized",
                "containers with incomplete status: " + unfinishedInits,
                now));
    boolean ready = !terminal && unreadyApps.isEmpty();
    String why = terminal ? "PodCompleted" : "ContainersNotReady";
    String message = terminal ? "" : "containers with unready status: " + unreadyApps;
    list.add(condition("ContainersReady", ready, ready ? "" : why, ready ? "" : message, now));
    list.add(condition("Ready", ready, ready ? "" : why, ready ? "" : message, now));
    s.awake()
        .ifPresent(
            awake ->
                list.add(
                    condition(
                        AWAKE_CONDITION,
                        awake,
                        awake ? "Awake" : "Sleeping",
                        awake
                            ? "the pod's containers run"
                            : "socket-activated: sockets open, no process runs; a connection wakes it",
                        now)));
    PodStatusBuilder b =
        new PodStatusBuilder()
            .withPhase(phase(s.phase()))
            .withConditions(list)
            .withStartTime(startTime)
            .withHostIP(hostIps.stream().findFirst().orElse(null))
            .withHostIPs(hostIps.stream().map(HostIP::new).toList())
            .withPodIP(s.podIps().stream().findFirst().orElse(null))
            .withPodIPs(s.podIps().stream().map(PodIP::new).toList())
            .withInitContainerStatuses(
                s.initContainers().stream().map(PodStatusWriter::container).toList())
            .withContainerStatuses(
                s.containers().stream().map(PodStatusWriter::container).toList());
    s.problem().ifPresent(p -> b.withReason(p.reason()).withMessage(p.message()));
    return b.build();
  }

  private PodCondition condition(
      String type, boolean status, String reason, String message, Instant now) {
    String value = status ? "True" : "False";
    PodCondition before = conditions.get(type);
    String transition =
        before != null && before.getStatus().equals(value)
            ? before.getLastTransitionTime()
            : Times.seconds(now);
    PodCondition c = new PodCondition();
    c.setType(type);
    c.setStatus(value);
    c.setLastTransitionTime(transition);
    c.setLastProbeTime(null);
    if (!reason.isEmpty()) {
      c.setReason(reason);
    }
    if (!message.isEmpty()) {
      c.setMessage(message);
    }
    conditions.put(type, c);
    return c;
  }

  private static String phase(Phase p) {
    return switch (p) {
      case PENDING -> "Pending";
      case RUNNING -> "Running";
      case SUCCEEDED -> "Succeeded";
      case FAILED -> "Failed";
    };
  }

  private static ContainerStatus container(ContainerSnapshot c) {
    ContainerStatusBuilder b =
        new ContainerStatusBuilder()
            .withName(c.name())
            .withImage(
                c.current().map(ContainerView::image).filter(i -> !i.isEmpty()).orElse(c.image()))
            .withImageID(c.current().map(ContainerView::imageRef).orElse(""))
            .withReady(c.ready())
            .withStarted(c.started())
            .withRestartCount(c.restartCount());
    c.current().ifPresent(v -> b.withContainerID(containerId(v)));
    ContainerState state;
    Optional<ContainerView> last = c.previous();
    if (c.waiting().isPresent()
        && (c.current().isEmpty() || c.current().get().state() != ContainerView.State.RUNNING)) {
      var w = c.waiting().get();
      state =
          new ContainerStateBuilder()
              .withNewWaiting()
              .withReason(w.reason())
              .withMessage(w.message().isEmpty() ? null : w.message())
              .endWaiting()
              .build();
      if (c.current().map(v -> v.state() == ContainerView.State.EXITED).orElse(false)) {
        last = c.current();
      }
    } else if (c.current().isEmpty()) {
      state =
          new ContainerStateBuilder()
              .withNewWaiting()
              .withReason("ContainerCreating")
              .endWaiting()
              .build();
    } else {
      state = state(c.current().get());
    }
    b.withState(state);
    last.filter(v -> v.state() == ContainerView.State.EXITED)
        .ifPresent(v -> b.withLastState(state(v)));
    return b.build();
  }

  private static ContainerState state(ContainerView v) {
    return switch (v.state()) {
      case RUNNING ->
          new ContainerStateBuilder()
              .withNewRunning()
              .withStartedAt(time(v.startedAtNanos()))
              .endRunning()
              .build();
      case EXITED ->
          new ContainerStateBuilder()
              .withNewTerminated()
              .withContainerID(containerId(v))
              .withExitCode(v.exitCode())
              .withReason(
                  !v.reason().isEmpty() ? v.reason() : v.exitCode() == 0 ? "Completed" : "Error")
              .withMessage(v.message().isEmpty() ? null : v.message())
              .withStartedAt(time(v.startedAtNanos()))
              .withFinishedAt(time(v.finishedAtNanos()))
              .endTerminated()
              .build();
      default ->
          new ContainerStateBuilder()
              .withNewWaiting()
              .withReason("ContainerCreating")
              .endWaiting()
              .build();
    };
  }

  private static String containerId(ContainerView v) {
    return "spawnlet://" + v.id();
  }

  private static String time(long nanos) {
    return nanos <= 0 ? null : Times.seconds(Instant.ofEpochSecond(0, nanos));
  }
}
