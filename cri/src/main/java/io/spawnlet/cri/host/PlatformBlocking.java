package io.spawnlet.cri.host;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Runs a blocking native call (waitpid, poll, read on a pipe through jnr) on a platform thread and
 * parks the caller until it returns.
 *
 * <p>Why: the daemon serves every RPC on a virtual thread, and a virtual thread inside a native
 * call cannot unmount: it pins its carrier for the whole wait (tens of milliseconds for an OCI
 * runtime command, minutes for a hung one). With as many carriers as cores, a few such waits stall
 * every other RPC. A virtual thread waiting on a future unmounts instead. The pool grows with the
 * number of concurrent waits and lets idle threads go after a minute.
 */
public final class PlatformBlocking {
  private static final ExecutorService THREADS =
      Executors.newCachedThreadPool(
          Thread.ofPlatform().name("spawnlet-native-wait-", 0).daemon(true).factory());

  private PlatformBlocking() {}

  /**
   * {@code call()} on a platform thread; its unchecked exceptions are rethrown here as they are, an
   * IOException as UncheckedIOException, other checked ones as IllegalStateException.
   */
  public static <T> T call(Callable<T> call) {
    if (!Thread.currentThread().isVirtual()) {
      return callHere(call);
    }
    CompletableFuture<T> result = CompletableFuture.supplyAsync(() -> callHere(call), THREADS);
    try {
      return result.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      // The native call goes on to its own end (its timeout); its result is dropped.
      throw new IllegalStateException("interrupted while waiting for a native call", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private static <T> T callHere(Callable<T> call) {
    try {
      return call.call();
    } catch (RuntimeException e) {
      throw e;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e.getMessage(), e);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
