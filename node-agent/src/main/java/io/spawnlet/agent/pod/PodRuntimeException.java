package io.spawnlet.agent.pod;

/** A call to the container runtime failed; {@link #kind()} says how, the message says what. */
public final class PodRuntimeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What the worker can do about it: retry later, or tell the user something is missing. */
  public enum Kind {
    NOT_FOUND,
    UNIMPLEMENTED,
    UNAVAILABLE,
    FAILED
  }

  private final Kind kind;

  public PodRuntimeException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
