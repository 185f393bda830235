package io.spawnlet.cri.activation;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One activated pod as the daemon holds it: its sockets (the daemon's own duplicates; the holder
 * has the others), its state and counters. {@link #transitions} serializes wake and sleep; the
 * fields they change are volatile so that status queries and the poller read them without it.
 */
final class ActivatedPod {
  final String sandboxId;
  final ActivationSpec spec;
  final List<Integer> fds;
  final boolean dualStack;
  final SocketHolder.Holder holder;

  /** A holder started by this daemon process is our child and is reaped by us. */
  final boolean holderIsChild;

  final ReentrantLock transitions = new ReentrantLock();
  volatile ActivationState state = ActivationState.SLEEPING;
  volatile long wakes;
  volatile long sleeps;
  volatile long lastWakeMillis;
  volatile long lastWakeLatencyMicros;
  volatile long lastBusyNanos = System.nanoTime();
  volatile long wakeRequestedNanos;
  volatile long wakeBlockedUntilNanos;

  /** Containers whose runtime container runs now. */
  final Set<String> awake = ConcurrentHashMap.newKeySet();

  /** Containers the CRI asked to stop or remove: their exits are recorded as usual. */
  final Set<String> released = ConcurrentHashMap.newKeySet();

  /** Proxy mode: accepting while the pod is awake; null otherwise. */
  volatile ActivationProxy proxy;

  /** Exits the sleep sequence waits for. */
  final Map<String, CompletableFuture<Integer>> exitWaiters = new ConcurrentHashMap<>();

  ActivatedPod(
      String sandboxId,
      ActivationSpec spec,
      List<Integer> fds,
      boolean dualStack,
      SocketHolder.Holder holder,
      boolean holderIsChild) {
    this.sandboxId = sandboxId;
    this.spec = spec;
    this.fds = List.copyOf(fds);
    this.dualStack = dualStack;
    this.holder = holder;
    this.holderIsChild = holderIsChild;
  }

  /** The descriptors handed to the containers (fds 3…): all but the proxied ports'. */
  List<Integer> passedFds() {
    List<Integer> passed = new java.util.ArrayList<>();
    List<ActivationPort> keep = spec.passedPorts();
    for (int i = 0; i < fds.size(); i++) {
      if (keep.contains(spec.ports().get(i))) {
        passed.add(fds.get(i));
      }
    }
    return passed;
  }

  /** Proxy mode: activation socket fd → the app's own port. */
  Map<Integer, Integer> proxiedFds() {
    Map<Integer, Integer> proxied = new java.util.LinkedHashMap<>();
    for (int i = 0; i < fds.size(); i++) {
      ActivationPort p = spec.ports().get(i);
      if (p.protocol() == ActivationPort.Protocol.TCP && spec.proxies().containsKey(p.port())) {
        proxied.put(fds.get(i), spec.proxies().get(p.port()));
      }
    }
    return proxied;
  }

  ActivationRecord record() {
    return new ActivationRecord(
        sandboxId,
        holder.pid(),
        holder.startTime(),
        spec.ports().stream().map(ActivationPort::toString).toList(),
        dualStack,
        wakes,
        lastWakeMillis,
        lastWakeLatencyMicros);
  }
}
