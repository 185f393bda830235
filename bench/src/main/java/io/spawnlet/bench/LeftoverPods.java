package io.spawnlet.bench;

import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandbox;
import runtime.v1.PodSandboxFilter;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;
import runtime.v1.StopPodSandboxRequest;

/**
 * Removes benchmark pods that an interrupted run left behind, through the runtime itself, so its
 * network namespaces, mounts and processes go the normal way. Only pods that carry the benchmark
 * label are touched.
 */
final class LeftoverPods {

  private LeftoverPods() {}

  /** Stops and removes every pod labelled by any benchmark run; returns how many. */
  static int removeAll(RuntimeServiceBlockingStub runtime) {
    int removed = 0;
    for (PodSandbox pod :
        runtime
            .withDeadlineAfter(60, TimeUnit.SECONDS)
            .listPodSandbox(
                ListPodSandboxRequest.newBuilder().setFilter(PodSandboxFilter.newBuilder()).build())
            .getItemsList()) {
      if (pod.getLabelsMap().containsKey(BenchPodConfigs.RUN_LABEL)) {
        removeQuietly(runtime, pod.getId());
        removed++;
      }
    }
    return removed;
  }

  /** Best effort: a failure here must not hide the error that made the caller clean up. */
  static void removeQuietly(RuntimeServiceBlockingStub runtime, String podId) {
    try {
      runtime
          .withDeadlineAfter(60, TimeUnit.SECONDS)
          .stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
      runtime
          .withDeadlineAfter(60, TimeUnit.SECONDS)
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    } catch (StatusRuntimeException e) {
      System.err.println("warning: could not remove pod sandbox " + podId + ": " + e.getStatus());
    }
  }
}
