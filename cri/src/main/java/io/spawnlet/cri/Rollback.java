package io.spawnlet.cri;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Undo actions as data. Each creation step that makes something pushes how to unmake it; if a later
 * step fails, {@link #run} undoes in reverse order (each retried once), so a failed create leaves
 * nothing behind. On success the caller {@link #commit}s and the actions are dropped.
 */
public final class Rollback implements AutoCloseable {
  /** One undo step. */
  @FunctionalInterface
  public interface Undo {
    void run() throws Exception;
  }

  private static final Logger log = LoggerFactory.getLogger(Rollback.class);
  private final String what;
  private final Deque<Undo> undos = new ArrayDeque<>();
  private final Deque<String> names = new ArrayDeque<>();
  private boolean committed;

  public Rollback(String what) {
    this.what = what;
  }

  public void push(String name, Undo undo) {
    undos.push(undo);
    names.push(name);
  }

  public void commit() {
    committed = true;
    undos.clear();
    names.clear();
  }

  @Override
  public void close() {
    if (committed) {
      return;
    }
    while (!undos.isEmpty()) {
      Undo u = undos.pop();
      String name = names.pop();
      try {
        u.run();
      } catch (Exception first) {
        try {
          u.run();
        } catch (Exception again) {
          log.error("rollback of {}: undoing '{}' failed twice: {}", what, name, again.toString());
        }
      }
    }
  }
}
