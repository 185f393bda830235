package io.spawnlet.agent.pod;

import java.nio.file.Path;
import java.util.List;

/**
 * A pod as the agent will run it: its sandbox, init containers (run in order, each to a zero exit),
 * app containers, restart policy, and what must exist before the first container: host directories
 * (emptyDir volumes, hostPath DirectoryOrCreate), tmpfs volumes, and the files of
 * configMap/secret/downwardAPI/projected volumes; registry credentials for its images.
 */
public record PodPlan(
    SandboxPlan sandbox,
    List<ContainerPlan> initContainers,
    List<ContainerPlan> containers,
    RestartPolicy restartPolicy,
    List<Path> directories,
    List<MemoryVolume> memoryVolumes,
    List<FileVolume> fileVolumes,
    List<PodRuntime.RegistryCredential> pullCredentials) {}
