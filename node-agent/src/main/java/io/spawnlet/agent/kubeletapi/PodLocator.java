package io.spawnlet.agent.kubeletapi;

import io.spawnlet.agent.pod.PodPlanner;
import io.spawnlet.agent.pod.PodRuntime;
import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import io.spawnlet.agent.pod.PodRuntime.SandboxView;
import java.util.Comparator;
import java.util.Map;

/**
 * Finds what a kubelet API path names ({@code <namespace>/<pod>[/<container>]}) among the runtime's
 * sandboxes and containers, by the labels the agent puts on them: the pod's ready sandbox (the
 * newest, should an old one linger), and in it the newest attempt of the named container.
 */
final class PodLocator {
  private final PodRuntime runtime;

  PodLocator(PodRuntime runtime) {
    this.runtime = runtime;
  }

  /** The id of the pod's ready sandbox; 404 if the pod does not run on this node. */
  String sandbox(String namespace, String pod) {
    return runtime
        .sandboxes(
            Map.of(PodPlanner.POD_NAMESPACE_LABEL, namespace, PodPlanner.POD_NAME_LABEL, pod))
        .stream()
        .filter(SandboxView::ready)
        .max(Comparator.comparingLong(SandboxView::createdAtNanos))
        .map(SandboxView::id)
        .orElseThrow(
            () ->
                KubeletApiException.notFound(
                    "pod " + namespace + "/" + pod + " has no running sandbox on this node"));
  }

  /** The newest attempt of container {@code name} in the pod ({@code previous}: the one before). */
  ContainerView container(String namespace, String pod, String name, boolean previous) {
    var attempts =
        runtime.containers(sandbox(namespace, pod)).stream()
            .filter(c -> c.name().equals(name))
            .sorted(Comparator.comparingInt(ContainerView::attempt).reversed())
            .toList();
    int wanted = previous ? 1 : 0;
    if (attempts.size() <= wanted) {
      throw KubeletApiException.notFound(
          (previous ? "no previous instance of container " : "no container ")
              + name
              + " in pod "
              + namespace
              + "/"
              + pod);
    }
    return attempts.get(wanted);
  }

  /** The newest attempt of container {@code name}, which must be running (exec, attach). */
  ContainerView running(String namespace, String pod, String name) {
    ContainerView c = container(namespace, pod, name, false);
    if (c.state() != ContainerView.State.RUNNING) {
      throw new KubeletApiException(
          400,
          "container "
              + name
              + " in pod "
              + namespace
              + "/"
              + pod
              + " is "
              + c.state()
              + ": exec and attach need a running container");
    }
    return c;
  }
}
