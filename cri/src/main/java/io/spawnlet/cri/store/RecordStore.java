package io.spawnlet.cri.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records of one kind, one JSON file each under {@code dir/<id>/<file>}, mirrored in memory.
 * Updates follow "compute, write atomically, then swap in memory": a failed write changes nothing.
 * Per-id updates are serialised, so concurrent status changes of one object never lose a write.
 */
public final class RecordStore<T extends RecordStore.Keyed> {
  /** A stored record: knows its id. */
  public interface Keyed {
    String id();
  }

  private static final Logger log = LoggerFactory.getLogger(RecordStore.class);
  static final ObjectMapper JSON =
      new ObjectMapper()
          .findAndRegisterModules()
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(SerializationFeature.INDENT_OUTPUT);

  private final Path dir;
  private final String fileName;
  private final Class<T> type;
  private final ConcurrentHashMap<String, T> byId = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();

  public RecordStore(Path dir, String fileName, Class<T> type) {
    this.dir = dir;
    this.fileName = fileName;
    this.type = type;
  }

  /** Loads every record from disk; unreadable ones are reported and returned for clean-up. */
  public List<String> load() {
    List<String> broken = new ArrayList<>();
    try {
      Files.createDirectories(dir);
      try (Stream<Path> entries = Files.list(dir)) {
        for (Path entry : (Iterable<Path>) entries::iterator) {
          Path file = entry.resolve(fileName);
          String id = entry.getFileName().toString();
          if (!Files.isRegularFile(file)) {
            broken.add(id);
            continue;
          }
          try {
            T rec = JSON.readValue(file.toFile(), type);
            byId.put(rec.id(), rec);
          } catch (IOException e) {
            log.warn("cannot load {}: {}", file, e.getMessage());
            broken.add(id);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + dir, e);
    }
    return broken;
  }

  public Path dirOf(String id) {
    return dir.resolve(id);
  }

  public Optional<T> get(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  public Collection<T> all() {
    return List.copyOf(byId.values());
  }

  /** Stores a new or replaced record: on disk first, then in memory. */
  public void put(T rec) {
    synchronized (lockOf(rec.id())) {
      write(rec);
      byId.put(rec.id(), rec);
    }
  }

  /** Applies {@code change} to the current record atomically; returns the new one. */
  public Optional<T> update(String id, UnaryOperator<T> change) {
    synchronized (lockOf(id)) {
      T cur = byId.get(id);
      if (cur == null) {
        return Optional.empty();
      }
      T next = change.apply(cur);
      if (next != cur) {
        write(next);
        byId.put(id, next);
      }
      return Optional.of(next);
    }
  }

  /** Forgets the record and deletes its directory (and whatever else is in it). */
  public void remove(String id) {
    synchronized (lockOf(id)) {
      byId.remove(id);
      try {
        Directories.deleteTree(dir.resolve(id));
      } catch (IOException e) {
        throw new UncheckedIOException("removing " + dir.resolve(id), e);
      }
    }
    locks.remove(id);
  }

  private Object lockOf(String id) {
    return locks.computeIfAbsent(id, k -> new Object());
  }

  private void write(T rec) {
    try {
      AtomicFiles.write(dir.resolve(rec.id()).resolve(fileName), JSON.writeValueAsBytes(rec));
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + type.getSimpleName() + " " + rec.id(), e);
    }
  }
}
