package io.spawnlet.cri.store;

import java.util.Map;

/**
 * A container as stored on disk. Its state is derived from its timestamps, never stored apart:
 *
 * <pre>
 *   CreateContainer ──► CREATED (createdAt) ──StartContainer──► RUNNING (startedAt)
 *         │                                                        │ exit seen by conmon
 *         └───────────── never started, stopped ─────────────► EXITED (finishedAt, exitCode)
 * </pre>
 */
public record ContainerRecord(
    String id,
    String sandboxId,
    String name,
    int attempt,
    Map<String, String> labels,
    Map<String, String> annotations,
    String configJson,
    String imageRef,
    String imageId,
    String runtimeHandler,
    String logPath,
    long createdAtNanos,
    long startedAtNanos,
    long finishedAtNanos,
    int exitCode,
    int pid,
    int stopSignal,
    String reason,
    String message)
    implements RecordStore.Keyed {

  /** CRI ContainerState. */
  public enum State {
    CREATED,
    RUNNING,
    EXITED,
    UNKNOWN
  }

  public ContainerRecord {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    reason = reason == null ? "" : reason;
    message = message == null ? "" : message;
  }

  public State state() {
    if (finishedAtNanos > 0) {
      return State.EXITED;
    }
    if (startedAtNanos > 0) {
      return State.RUNNING;
    }
    return State.CREATED;
  }

  /**
   * Records the start time once. A program that exits at once may have had its exit recorded before
   * StartContainer records the start: the exit stays, only the start time is filled in.
   */
  public ContainerRecord started(long atNanos, int newPid) {
    if (startedAtNanos > 0) {
      return this;
    }
    return withStatus(atNanos, finishedAtNanos, exitCode, newPid, reason, message);
  }

  /**
   * The pid of the container's current process: a socket-activated container gets a new process at
   * every wake and none (0) while it sleeps, under the same CRI container.
   */
  public ContainerRecord withPid(int newPid) {
    if (newPid == pid) {
      return this;
    }
    return withStatus(startedAtNanos, finishedAtNanos, exitCode, newPid, reason, message);
  }

  /** Records the exit once; a second report of the same exit changes nothing. */
  public ContainerRecord exited(long atNanos, int code, String why, String detail) {
    if (finishedAtNanos > 0) {
      return this;
    }
    return withStatus(startedAtNanos, atNanos, code, pid, why, detail);
  }

  /** This record with new mutable status; the metadata never changes. */
  private ContainerRecord withStatus(
      long started, long finished, int code, int newPid, String why, String detail) {
    return new ContainerRecord(
        id,
        sandboxId,
        name,
        attempt,
        labels,
        annotations,
        configJson,
        imageRef,
        imageId,
        runtimeHandler,
        logPath,
        createdAtNanos,
        started,
        finished,
        code,
        newPid,
        stopSignal,
        why,
        detail);
  }
}
