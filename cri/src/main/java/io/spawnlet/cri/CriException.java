package io.spawnlet.cri;

/**
 * The one error type of the CRI daemon. Business code raises it with a {@link Kind}; the gRPC layer
 * maps the kind to a status code in a single place ({@code GrpcErrors}). Messages name the field or
 * object at fault and, where there is one, what the user can do about it.
 */
public class CriException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, in the vocabulary of the CRI (which maps one-to-one onto gRPC codes). */
  public enum Kind {
    INVALID_ARGUMENT,
    NOT_FOUND,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    UNAUTHENTICATED,
    PERMISSION_DENIED,
    DATA_LOSS,
    DEADLINE_EXCEEDED,
    UNAVAILABLE,
    UNIMPLEMENTED,
    INTERNAL
  }

  private final Kind kind;

  public CriException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public CriException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  public static CriException invalid(String field, String problem) {
    return new CriException(Kind.INVALID_ARGUMENT, field + ": " + problem);
  }

  public static CriException notFound(String what, String id) {
    return new CriException(Kind.NOT_FOUND, what + " \"" + id + "\" not found");
  }

  public static CriException alreadyExists(String message) {
    return new CriException(Kind.ALREADY_EXISTS, message);
  }

  public static CriException precondition(String message) {
    return new CriException(Kind.FAILED_PRECONDITION, message);
  }

  public static CriException internal(String message, Throwable cause) {
    return new CriException(Kind.INTERNAL, message, cause);
  }
}
