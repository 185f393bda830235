package io.spawnlet.bench;

import java.util.EnumMap;
import java.util.Map;

/** How long each operation took for one pod, in nanoseconds. */
public record PodTimings(Map<Operation, Long> nanos) {

  public PodTimings {
    if (!nanos.keySet().containsAll(java.util.EnumSet.allOf(Operation.class))) {
      throw new IllegalArgumentException("a pod's timings miss operations: have " + nanos.keySet());
    }
    nanos = Map.copyOf(new EnumMap<>(nanos));
  }

  public long of(Operation operation) {
    return nanos.get(operation);
  }
}
