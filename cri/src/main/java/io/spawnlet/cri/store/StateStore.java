package io.spawnlet.cri.store;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.Validation;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** All sandboxes and containers the daemon knows, as loaded from and written to disk. */
public final class StateStore {
  private static final Logger log = LoggerFactory.getLogger(StateStore.class);
  public final RecordStore<SandboxRecord> sandboxes;
  public final RecordStore<ContainerRecord> containers;
  public final NameIndex sandboxNames = new NameIndex("pod sandbox");
  public final NameIndex containerNames = new NameIndex("container");

  public StateStore(Path root) {
    this.sandboxes =
        new RecordStore<>(root.resolve("sandboxes"), "sandbox.json", SandboxRecord.class);
    this.containers =
        new RecordStore<>(root.resolve("containers"), "container.json", ContainerRecord.class);
  }

  /**
   * Loads both stores and rebuilds the name reservations; returns ids whose records are unreadable.
   */
  public List<String> load() {
    List<String> broken = new java.util.ArrayList<>(sandboxes.load());
    broken.addAll(containers.load());
    for (SandboxRecord s : sandboxes.all()) {
      sandboxNames.reserve(s.uniqueName(), s.id());
    }
    for (ContainerRecord c : containers.all()) {
      containerNames.reserve(containerName(c.sandboxId(), c.name(), c.attempt()), c.id());
    }
    log.info(
        "loaded {} sandboxes and {} containers from disk",
        sandboxes.all().size(),
        containers.all().size());
    return broken;
  }

  public static String containerName(String sandboxId, String name, int attempt) {
    return sandboxId + "_" + name + "_" + attempt;
  }

  public SandboxRecord sandbox(String field, String idOrPrefix) {
    Validation.id(field, idOrPrefix);
    return Ids.resolve("pod sandbox", idOrPrefix, sandboxes.all(), SandboxRecord::id);
  }

  public ContainerRecord container(String field, String idOrPrefix) {
    Validation.id(field, idOrPrefix);
    return Ids.resolve("container", idOrPrefix, containers.all(), ContainerRecord::id);
  }

  public List<ContainerRecord> containersOf(String sandboxId) {
    return containers.all().stream().filter(c -> c.sandboxId().equals(sandboxId)).toList();
  }

  /** Re-reads a sandbox after an update elsewhere; it must still exist. */
  public SandboxRecord current(SandboxRecord s) {
    return sandboxes.get(s.id()).orElseThrow(() -> CriException.notFound("pod sandbox", s.id()));
  }
}
