package io.spawnlet.agent.pod;

import io.spawnlet.agent.probe.LifecycleHandler;
import io.spawnlet.agent.probe.ProbePlan;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One container of a pod as the runtime will create it: command and args already expanded ({@code
 * $(VAR)}), env in order, mounts resolved to host paths, resources in CRI units; its postStart and
 * preStop hooks.
 */
public record ContainerPlan(
    String name,
    String image,
    PullPolicy pullPolicy,
    List<String> command,
    List<String> args,
    Map<String, String> env,
    String workingDir,
    List<MountPlan> mounts,
    List<PortPlan> ports,
    boolean privileged,
    Optional<Long> runAsUser,
    Optional<Long> runAsGroup,
    boolean readOnlyRootFilesystem,
    List<String> addCapabilities,
    List<String> dropCapabilities,
    Resources resources,
    boolean stdin,
    boolean tty,
    String terminationMessagePath,
    Optional<ProbePlan> startupProbe,
    Optional<ProbePlan> livenessProbe,
    Optional<ProbePlan> readinessProbe,
    Optional<LifecycleHandler> postStart,
    Optional<LifecycleHandler> preStop) {

  /** Linux resources in the units the CRI uses; 0 = not set. */
  public record Resources(long cpuShares, long cpuQuota, long cpuPeriod, long memoryLimitBytes) {
    public static final Resources NONE = new Resources(0, 0, 0, 0);
  }
}
