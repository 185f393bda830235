package io.spawnlet.cri.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.spawnlet.cri.CriException;

/** The single place where spawnlet's errors become gRPC statuses. */
final class GrpcErrors {
  private GrpcErrors() {}

  static StatusRuntimeException toStatus(Throwable t) {
    if (t instanceof StatusRuntimeException s) {
      return s;
    }
    if (t instanceof CriException e) {
      return codeOf(e.kind()).withDescription(e.getMessage()).withCause(e).asRuntimeException();
    }
    if (t instanceof IllegalArgumentException e) {
      return Status.INVALID_ARGUMENT
          .withDescription(e.getMessage())
          .withCause(e)
          .asRuntimeException();
    }
    return Status.INTERNAL
        .withDescription(
            t.getClass().getSimpleName()
                + ": "
                + t.getMessage()
                + " (see the spawnlet daemon log for details)")
        .withCause(t)
        .asRuntimeException();
  }

  private static Status codeOf(CriException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.NOT_FOUND;
      case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
      case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
      case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
      case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
      case DATA_LOSS -> Status.DATA_LOSS;
      case DEADLINE_EXCEEDED -> Status.DEADLINE_EXCEEDED;
      case UNAVAILABLE -> Status.UNAVAILABLE;
      case UNIMPLEMENTED -> Status.UNIMPLEMENTED;
      case INTERNAL -> Status.INTERNAL;
    };
  }
}
