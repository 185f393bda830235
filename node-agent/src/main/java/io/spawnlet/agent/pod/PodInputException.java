package io.spawnlet.agent.pod;

/**
 * Something a pod refers to is not there yet (a configMap, a secret, a key of one, a token): the
 * kubelet's CreateContainerConfigError. Unlike {@link PodRefusedException} it is retried, since the
 * object may be created later.
 */
public final class PodInputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PodInputException(String message) {
    super(message);
  }
}
