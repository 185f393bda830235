package io.spawnlet.cri.host;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Runs jobs that move the current OS thread into other namespaces (unshare/setns), one at a time,
 * on one dedicated platform thread.
 *
 * <p>Why not a virtual thread: setns and unshare act on the OS thread, and a virtual thread can
 * move between carrier threads at any blocking point, leaving a carrier (which later runs unrelated
 * virtual threads) inside a pod's namespaces.
 *
 * <p>Why not a {@code ThreadPoolExecutor}: a thread inherits the namespaces of the thread that
 * creates it, and an executor replaces a dead worker <em>from the dying worker itself</em>, so the
 * replacement of a thread stuck in a pod's namespaces would start in those namespaces too. Here a
 * job that cannot switch back {@linkplain Job#poison() poisons} the thread: it finishes the job and
 * ends, and the next {@link #run} starts a fresh thread <em>from the caller's thread</em> (which
 * never switches namespaces).
 *
 * <p>A job must not start threads nor do anything that may lazily start one (logging frameworks
 * with async appenders, the common fork-join pool, virtual threads) while it is switched: such a
 * thread would live in the pod's namespaces.
 */
final class NamespaceSwitchThread {
  /** A unit of work; it calls {@link #poison()} when it left the thread in foreign namespaces. */
  abstract static class Job<T> implements Supplier<T> {
    private volatile boolean poisoned;

    final void poison() {
      poisoned = true;
    }

    final boolean poisoned() {
      return poisoned;
    }
  }

  private record Handoff<T>(Job<T> job, CompletableFuture<T> result) {}

  private final String threadName;
  private final ReentrantLock lock = new ReentrantLock();
  private SynchronousQueue<Handoff<?>> queue;
  private Thread thread;
  private int generation;

  NamespaceSwitchThread(String threadName) {
    this.threadName = threadName;
  }

  /** Runs {@code job} on the switching thread and returns its result (or throws its exception). */
  <T> T run(Job<T> job) {
    lock.lock();
    try {
      if (thread == null || !thread.isAlive()) {
        start();
      }
      CompletableFuture<T> result = new CompletableFuture<>();
      putUninterruptibly(new Handoff<>(job, result));
      try {
        // join() cannot be interrupted: the caller must not go on while the thread may still be
        // switched (its rollback would race with the job).
        return result.join();
      } catch (java.util.concurrent.CompletionException e) {
        if (e.getCause() instanceof RuntimeException re) {
          throw re;
        }
        if (e.getCause() instanceof Error err) {
          throw err;
        }
        throw e;
      } finally {
        if (job.poisoned()) {
          joinUninterruptibly(thread);
          thread = null;
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** How many threads were started so far: more than one means one was poisoned. */
  int generation() {
    lock.lock();
    try {
      return generation;
    } finally {
      lock.unlock();
    }
  }

  private void start() {
    SynchronousQueue<Handoff<?>> jobs = new SynchronousQueue<>();
    generation++;
    Thread t =
        Thread.ofPlatform()
            .name(threadName + "-" + generation)
            .daemon(true)
            .unstarted(() -> loop(jobs));
    t.start();
    queue = jobs;
    thread = t;
  }

  private static void loop(SynchronousQueue<Handoff<?>> jobs) {
    while (true) {
      Handoff<?> handoff;
      try {
        handoff = jobs.take();
      } catch (InterruptedException e) {
        return;
      }
      if (!runOne(handoff)) {
        return; // poisoned: this OS thread must never run another job
      }
    }
  }

  private static <T> boolean runOne(Handoff<T> handoff) {
    try {
      handoff.result().complete(handoff.job().get());
    } catch (Throwable t) {
      handoff.result().completeExceptionally(t);
    }
    return !handoff.job().poisoned();
  }

  private void putUninterruptibly(Handoff<?> handoff) {
    boolean interrupted = false;
    while (true) {
      try {
        queue.put(handoff);
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static void joinUninterruptibly(Thread t) {
    boolean interrupted = false;
    while (t.isAlive()) {
      try {
        t.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
