package io.spawnlet.cri.store;

import io.spawnlet.cri.CriException;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Unique names reserved for the lifetime of an object (a pod's name_namespace_uid_attempt, a
 * container's sandbox+name+attempt), so that two concurrent creates of the same name cannot both
 * succeed.
 */
public final class NameIndex {
  private final ConcurrentHashMap<String, String> idByName = new ConcurrentHashMap<>();
  private final String what;

  public NameIndex(String what) {
    this.what = what;
  }

  public void reserve(String name, String id) {
    String holder = idByName.putIfAbsent(name, id);
    if (holder != null && !holder.equals(id)) {
      throw CriException.alreadyExists(
          what
              + " name \""
              + name
              + "\" is already reserved for id "
              + holder
              + ": remove that "
              + what
              + " first or use another attempt number");
    }
  }

  public void release(String name, String id) {
    idByName.remove(name, id);
  }

  public Optional<String> idOf(String name) {
    return Optional.ofNullable(idByName.get(name));
  }
}
