package io.spawnlet.agent.pod;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * What the agent needs besides the runtime and the apiserver.
 *
 * @param manifests the watched directory of static Pod manifests, if any
 * @param stateDir the agent's own directory (emptyDir volumes live under {@code pods/<uid>/})
 * @param podLogDir where pods' log directories go ({@code <ns>_<name>_<uid>}), /var/log/pods
 * @param nodeName part of each static pod's uid, like the kubelet's
 * @param runtimeClassHandlers RuntimeClass name → CRI runtime handler; a class not listed is used
 *     as the handler name itself
 * @param pollInterval how often the directory is rescanned and containers are checked
 */
public record AgentSettings(
    Optional<Path> manifests,
    Path stateDir,
    Path podLogDir,
    String nodeName,
    Map<String, String> runtimeClassHandlers,
    Duration pollInterval) {

  /** RuntimeClass {@code spawnlet} runs system containers (handler {@code system}). */
  public static final Map<String, String> DEFAULT_RUNTIME_CLASSES = Map.of("spawnlet", "system");

  public AgentSettings {
    manifests = manifests.map(m -> m.toAbsolutePath().normalize());
    stateDir = stateDir.toAbsolutePath().normalize();
    podLogDir = podLogDir.toAbsolutePath().normalize();
    runtimeClassHandlers = Map.copyOf(runtimeClassHandlers);
  }
}
