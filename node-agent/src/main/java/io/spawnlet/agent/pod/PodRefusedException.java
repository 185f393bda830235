package io.spawnlet.agent.pod;

/**
 * A manifest spawnlet will not run as written: the message names the field (as a JSON path from the
 * pod, e.g. {@code spec.volumes[1].configMap}) and what to do instead. The pod is refused; the
 * other pods are not affected.
 */
public final class PodRefusedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PodRefusedException(String field, String problem) {
    super(field + ": " + problem);
  }
}
