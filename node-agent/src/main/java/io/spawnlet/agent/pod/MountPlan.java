package io.spawnlet.agent.pod;

import java.nio.file.Path;

/** A volume mount as the runtime sees it: a host directory or file bind-mounted in. */
public record MountPlan(String containerPath, Path hostPath, boolean readOnly) {}
