package io.spawnlet.cri.container;

import io.spawnlet.cri.host.CgroupAccounting;
import io.spawnlet.cri.store.ContainerRecord;
import java.nio.file.Files;

/**
 * Whether the kernel's OOM killer ended a container, asked when its exit is recorded (so that
 * ContainerStatus says reason "OOMKilled", as the kubelet expects). Two witnesses, either enough:
 * the {@code oom} file conmon writes into the bundle when its OOM watch fires, and the {@code
 * oom_kill} counter of the container's memory cgroup, which still exists at exit (the runtime
 * removes it on delete). The counter also catches a kill that conmon's watch missed, e.g. a child
 * process of the container's init.
 */
public final class OomKills {
  /** What conmon writes into its persist directory (our bundle) on an OOM event. */
  static final String CONMON_OOM_FILE = "oom";

  private final ContainerBundles bundles;
  private final CgroupAccounting accounting;

  public OomKills(ContainerBundles bundles, CgroupAccounting accounting) {
    this.bundles = bundles;
    this.accounting = accounting;
  }

  public boolean killed(ContainerRecord c) {
    if (Files.exists(bundles.bundle(c.id()).resolve(CONMON_OOM_FILE))) {
      return true;
    }
    return accounting.oomKills(bundles.cgroupPath(c)).orElse(0) > 0;
  }
}
