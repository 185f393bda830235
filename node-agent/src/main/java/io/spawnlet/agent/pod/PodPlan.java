package io.spawnlet.agent.pod;

import java.nio.file.Path;
import java.util.List;

/**
 * A pod as the agent will run it: its sandbox, init containers (run in order, each to a zero exit),
 * app containers, restart policy, and the host directories (emptyDir volumes, hostPath
 * DirectoryOrCreate) to create before the first container.
 */
public record PodPlan(
    SandboxPlan sandbox,
    List<ContainerPlan> initContainers,
    List<ContainerPlan> containers,
    RestartPolicy restartPolicy,
    List<Path> directories) {}
