package io.spawnlet.cri.grpc;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every RPC does around its business call: refuse while the daemon is still recovering
 * (UNAVAILABLE), log, time, and map failures through {@link GrpcErrors}. The service classes stay
 * three-line delegations.
 */
final class RpcCalls {
  private static final Logger log = LoggerFactory.getLogger("io.spawnlet.cri.rpc");
  private final BooleanSupplier ready;

  RpcCalls(BooleanSupplier ready) {
    this.ready = ready;
  }

  <T> void unary(String method, Object request, StreamObserver<T> out, Callable<T> call) {
    if (!ready.getAsBoolean()) {
      out.onError(
          Status.UNAVAILABLE
              .withDescription(
                  "spawnlet is recovering its state after a restart; retry in a moment")
              .asRuntimeException());
      return;
    }
    long start = System.nanoTime();
    T response;
    try {
      response = call.call();
    } catch (Throwable t) {
      var status = GrpcErrors.toStatus(t);
      if (status.getStatus().getCode() == Status.Code.INTERNAL) {
        log.error("{} failed: {}", method, status.getStatus().getDescription(), t);
      } else if (log.isDebugEnabled()) {
        log.debug(
            "{} -> {}: {}",
            method,
            status.getStatus().getCode(),
            status.getStatus().getDescription());
      }
      out.onError(status);
      return;
    }
    if (log.isDebugEnabled()) {
      log.debug("{} ok in {} ms", method, (System.nanoTime() - start) / 1_000_000);
    }
    out.onNext(response);
    out.onCompleted();
  }
}
