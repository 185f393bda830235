package io.spawnlet.cri.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.IdMapping;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The allocator over a real {@link StateStore} in a temp dir (its persistence is the records). */
class HostIdRangesTest {
  private static final long BASE = HostIdRanges.DEFAULT_BASE;
  private static final long SIZE = HostIdRanges.RANGE_SIZE;

  @TempDir Path dir;

  private static SandboxRecord record(String id, UserNamespaceMapping userns) {
    return new SandboxRecord(
        id,
        "pod-" + id,
        "default",
        "uid-" + id,
        0,
        "system",
        Map.of(),
        Map.of(),
        "{}",
        1,
        SandboxRecord.State.READY,
        List.of(),
        Map.of(),
        "/spawnlet/" + id,
        false,
        0,
        userns);
  }

  private StateStore loaded() {
    StateStore state = new StateStore(dir);
    assertThat(state.load()).isEmpty();
    return state;
  }

  @Test
  void consecutivePodsGetDisjointAlignedRanges() {
    StateStore state = loaded();
    HostIdRanges ranges = new HostIdRanges(state);

    UserNamespaceMapping a = ranges.allocate("a");
    UserNamespaceMapping b = ranges.allocate("b");

    assertThat(a.uids()).containsExactly(new IdMapping(0, BASE, SIZE));
    assertThat(a.gids()).isEqualTo(a.uids());
    assertThat(b.uids()).containsExactly(new IdMapping(0, BASE + SIZE, SIZE));
    assertThat(a.rootUid()).isEqualTo(BASE);
    assertThat(b.uidMap()).isEqualTo("0 " + (BASE + SIZE) + " 65536\n");
  }

  @Test
  void rangesOfStoredPodsSurviveARestartAndAreFreedWithTheRecord() {
    StateStore state = loaded();
    HostIdRanges ranges = new HostIdRanges(state);
    UserNamespaceMapping a = ranges.allocate("a");
    state.sandboxes.put(record("a", a));
    ranges.release("a");
    UserNamespaceMapping b = ranges.allocate("b");
    state.sandboxes.put(record("b", b));
    ranges.release("b");

    // a new daemon: the records on disk are all it knows
    StateStore reloaded = loaded();
    HostIdRanges after = new HostIdRanges(reloaded);
    assertThat(after.owners()).containsOnlyKeys("a", "b");
    UserNamespaceMapping c = after.allocate("c");
    assertThat(c.rootUid()).isEqualTo(BASE + 2 * SIZE);

    // RemovePodSandbox deletes the record: a's range is the first free one again
    reloaded.sandboxes.remove("a");
    assertThat(after.allocate("d").rootUid()).isEqualTo(BASE);
  }

  @Test
  void aFailedCreationReleasesItsRange() {
    HostIdRanges ranges = new HostIdRanges(loaded());
    ranges.allocate("failed");
    ranges.release("failed");
    assertThat(ranges.allocate("next").rootUid()).isEqualTo(BASE);
  }

  @Test
  void givenRangesAreAvoidedAndOverlapsRefused() {
    StateStore state = loaded();
    HostIdRanges ranges = new HostIdRanges(state);
    // kubelet's choice, unaligned and straddling our first two slots
    UserNamespaceMapping given =
        new UserNamespaceMapping(
            List.of(new IdMapping(0, BASE + 1000, SIZE)),
            List.of(new IdMapping(0, BASE + 1000, SIZE)),
            false);
    ranges.reserve("k", given, "userns_options");
    state.sandboxes.put(record("k", given));
    ranges.release("k");

    assertThat(ranges.allocate("x").rootUid()).isEqualTo(BASE + 2 * SIZE);
    assertThatThrownBy(
            () -> ranges.reserve("y", UserNamespaceMapping.ofRange(BASE + SIZE, 10), "f.uids"))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("f.uids")
        .hasMessageContaining("pod sandbox k")
        .extracting(e -> ((CriException) e).kind())
        .isEqualTo(CriException.Kind.INVALID_ARGUMENT);
  }

  @Test
  void freedGapsAreReusedAndExhaustionIsAPreconditionFailure() {
    StateStore state = loaded();
    HostIdRanges ranges = new HostIdRanges(state, BASE, BASE + 3 * SIZE);
    for (String id : List.of("a", "b", "c")) {
      state.sandboxes.put(record(id, ranges.allocate(id)));
      ranges.release(id);
    }
    assertThatThrownBy(() -> ranges.allocate("d"))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("no free host id range")
        .extracting(e -> ((CriException) e).kind())
        .isEqualTo(CriException.Kind.FAILED_PRECONDITION);

    state.sandboxes.remove("b");
    assertThat(ranges.allocate("d").rootUid()).isEqualTo(BASE + SIZE);
  }

  @Test
  void aRangeMustStartAlignedAboveZero() {
    assertThatThrownBy(() -> new HostIdRanges(loaded(), 0, 1L << 31))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new HostIdRanges(loaded(), 1000, 1L << 31))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
