package io.spawnlet.agent.kubeletapi;

/** A kubelet API request that cannot be served: the HTTP status and what the caller should know. */
final class KubeletApiException extends RuntimeException {
  private final int status;

  KubeletApiException(int status, String message) {
    super(message);
    this.status = status;
  }

  static KubeletApiException notFound(String message) {
    return new KubeletApiException(404, message);
  }

  static KubeletApiException badRequest(String message) {
    return new KubeletApiException(400, message);
  }

  int status() {
    return status;
  }
}
