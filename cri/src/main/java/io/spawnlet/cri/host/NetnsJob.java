package io.spawnlet.cri.host;

import io.spawnlet.cri.CriException;
import java.nio.file.Path;

/**
 * A {@link NamespaceSwitchThread} job that enters a pinned network namespace, runs {@link #inside}
 * there and comes back; a thread that cannot come back is poisoned. {@link #inside} follows the
 * switch thread's rules (raw system calls, no thread creation) and {@link #discard} undoes its
 * result when returning fails.
 */
abstract class NetnsJob<T> extends NamespaceSwitchThread.Job<T> {
  private final Path netns;

  NetnsJob(Path netns) {
    this.netns = netns;
  }

  /** The work to do inside the namespace. */
  abstract T inside();

  /** Releases what {@link #inside} made, when the thread could not come back. */
  abstract void discard(T made);

  @Override
  public final T get() {
    int home = Syscalls.openReadOnly("/proc/thread-self/ns/net");
    int target;
    try {
      target = Syscalls.openReadOnly(netns.toString());
    } catch (RuntimeException e) {
      Syscalls.close(home);
      throw e;
    }
    T made = null;
    RuntimeException failure = null;
    try {
      Syscalls.setns(target, Syscalls.CLONE_NEWNET);
      made = inside();
    } catch (RuntimeException e) {
      failure = e;
    } finally {
      try {
        Syscalls.setns(home, Syscalls.CLONE_NEWNET);
      } catch (RuntimeException e) {
        poison();
        RuntimeException back =
            CriException.internal(
                "cannot return the thread "
                    + Thread.currentThread().getName()
                    + " to the host network namespace",
                e);
        if (failure != null) {
          back.addSuppressed(failure);
        }
        failure = back;
      }
      Syscalls.close(home);
      Syscalls.close(target);
    }
    if (failure != null) {
      if (made != null) {
        discard(made);
      }
      throw failure;
    }
    return made;
  }
}
