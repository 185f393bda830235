package io.spawnlet.agent.cri;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import io.spawnlet.agent.pod.PodRuntime.ContainerView.State;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

class ContainerListingTest {
  /** A runtime's containers kept in memory, counting the calls the listing makes. */
  private static final class Containers implements ContainerListing.Source {
    final Map<String, ContainerListing.Listed> listed = new ConcurrentHashMap<>();
    final List<String> calls = new ArrayList<>();

    @Override
    public List<ContainerListing.Listed> list() {
      calls.add("list");
      return List.copyOf(listed.values());
    }

    @Override
    public Optional<ContainerView> status(String id) {
      calls.add("status " + id);
      ContainerListing.Listed c = listed.get(id);
      return c == null
          ? Optional.empty()
          : Optional.of(
              new ContainerView(
                  id, "main", 0, c.state(), 0, 1, 2, 3, "", "", "busybox", "sha256:x", "log"));
    }

    void put(String id, String sandbox, State state) {
      listed.put(id, new ContainerListing.Listed(id, sandbox, state));
    }
  }

  @Test
  void oneListingServesEveryPodUntilItIsOld() {
    Containers runtime = new Containers();
    runtime.put("a", "pod1", State.RUNNING);
    runtime.put("b", "pod2", State.RUNNING);
    ContainerListing listing = new ContainerListing(runtime, Duration.ofHours(1));

    assertThat(listing.containers("pod1")).extracting(ContainerView::id).containsExactly("a");
    assertThat(listing.containers("pod2")).extracting(ContainerView::id).containsExactly("b");
    assertThat(listing.containers("pod3")).isEmpty();

    assertThat(runtime.calls).containsExactlyInAnyOrder("list", "status a", "status b");
  }

  @Test
  void statusIsAskedAgainOnlyWhenTheStateChanged() {
    Containers runtime = new Containers();
    runtime.put("a", "pod1", State.RUNNING);
    runtime.put("b", "pod1", State.RUNNING);
    ContainerListing listing = new ContainerListing(runtime, Duration.ZERO);
    listing.containers("pod1");
    runtime.calls.clear();

    runtime.put("a", "pod1", State.EXITED);
    assertThat(listing.containers("pod1"))
        .extracting(ContainerView::state)
        .containsExactlyInAnyOrder(State.EXITED, State.RUNNING);
    assertThat(runtime.calls).containsExactly("list", "status a");
  }

  @Test
  void invalidateListsAgainAndRemovedContainersDisappear() {
    Containers runtime = new Containers();
    runtime.put("a", "pod1", State.RUNNING);
    ContainerListing listing = new ContainerListing(runtime, Duration.ofHours(1));
    listing.containers("pod1");

    runtime.listed.remove("a");
    runtime.put("c", "pod1", State.CREATED);
    assertThat(listing.containers("pod1")).extracting(ContainerView::id).containsExactly("a");
    listing.invalidate();
    assertThat(listing.containers("pod1")).extracting(ContainerView::id).containsExactly("c");
  }
}
