package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Pins real namespaces (root needed) under a private temporary run directory. */
class NamespacePinnerIT {
  private static final Set<NamespaceKind> ALL = EnumSet.allOf(NamespaceKind.class);

  private Path runDir;
  private NamespacePinner pinner;

  @BeforeEach
  void setUp() throws IOException {
    runDir = Files.createTempDirectory("spawnlet-ns-it-");
    pinner = new NamespacePinner(runDir);
  }

  @AfterEach
  void tearDown() throws IOException {
    for (String id : pinner.pinnedSandboxIds()) {
      pinner.unpin(id);
    }
    Syscalls.umount(pinner.root().toString(), Syscalls.MNT_DETACH);
    assertThat(MountTable.readSelf().countAtOrBelow(runDir)).isZero();
    try (Stream<Path> walk = Files.walk(runDir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Test
  void twoSandboxesGetTheirOwnNamespacesAndHostnames() throws Exception {
    String hostHostname = run("hostname").trim();
    Path threadNet = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net"));
    String a = randomId();
    String b = randomId();

    PinnedNamespaces pa = pinner.pin(a, "pod-a", ALL);
    PinnedNamespaces pb = pinner.pin(b, "pod-b", ALL);

    for (NamespaceKind kind : NamespaceKind.values()) {
      long ia = inode(pa.path(kind).orElseThrow());
      long ib = inode(pb.path(kind).orElseThrow());
      long host = inode(Path.of("/proc/self/ns/" + kind.procName()));
      assertThat(ia).as(kind + " of a vs b").isNotEqualTo(ib);
      assertThat(ia).as(kind + " of a vs host").isNotEqualTo(host);
      assertThat(Syscalls.statfsType(pa.path(kind).orElseThrow().toString()))
          .isEqualTo(Syscalls.NSFS_MAGIC);
    }
    assertThat(run("nsenter", "--uts=" + pa.path(NamespaceKind.UTS).orElseThrow(), "hostname"))
        .isEqualTo("pod-a\n");
    assertThat(run("nsenter", "--uts=" + pb.path(NamespaceKind.UTS).orElseThrow(), "hostname"))
        .isEqualTo("pod-b\n");
    String links = run("nsenter", "--net=" + pa.network().orElseThrow(), "ip", "-o", "link");
    assertThat(links.lines().toList()).hasSize(1).first().asString().contains("lo:");
    // the node and this thread are untouched
    assertThat(run("hostname").trim()).isEqualTo(hostHostname);
    assertThat(Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net"))).isEqualTo(threadNet);

    assertThat(pinner.pinnedSandboxIds()).containsExactlyInAnyOrder(a, b);
    assertThat(pinner.find(a)).contains(pa);
    assertThat(pinner.find(randomId())).isEmpty();

    pinner.unpin(a);
    assertThat(MountTable.readSelf().countAtOrBelow(pinner.root().resolve(a))).isZero();
    assertThat(pinner.root().resolve(a)).doesNotExist();
    assertThat(pinner.find(a)).isEmpty();
    assertThat(pinner.pinnedSandboxIds()).containsExactly(b);
    pinner.unpin(a); // idempotent
    assertThat(pinner.switchThreadGeneration()).isEqualTo(1);
  }

  @Test
  void nodeNamespacesAreNotPinned() throws Exception {
    String id = randomId();
    PinnedNamespaces pinned = pinner.pin(id, "", EnumSet.of(NamespaceKind.IPC));

    assertThat(pinned.paths().keySet()).containsExactly(NamespaceKind.IPC);
    assertThat(pinned.network()).isEmpty();
    assertThat(pinner.root().resolve(id).resolve("net")).doesNotExist();
    assertThat(pinner.find(id)).contains(pinned);

    String noNamespaces = randomId();
    assertThat(pinner.pin(noNamespaces, "x", Set.of()).paths()).isEmpty();
    assertThat(pinner.find(noNamespaces)).isPresent();
  }

  @Test
  void aPinThatLostItsMountIsNotFound() {
    String id = randomId();
    PinnedNamespaces pinned = pinner.pin(id, "pod", ALL);
    Syscalls.umount(pinned.path(NamespaceKind.IPC).orElseThrow().toString(), Syscalls.MNT_DETACH);

    assertThat(pinner.find(id)).isEmpty();
    pinner.unpin(id);
    assertThat(pinner.root().resolve(id)).doesNotExist();
  }

  @Test
  void pinningTwiceIsRefusedAndLeavesTheFirstPin() {
    String id = randomId();
    PinnedNamespaces pinned = pinner.pin(id, "pod", ALL);

    assertThatThrownBy(() -> pinner.pin(id, "pod", ALL))
        .isInstanceOfSatisfying(
            CriException.class,
            e -> assertThat(e.kind()).isEqualTo(CriException.Kind.ALREADY_EXISTS));
    assertThat(pinner.find(id)).contains(pinned);
  }

  @Test
  void manyPinUnpinCyclesLeakNoMountNorFileDescriptor() throws Exception {
    pinner.unpin(pinner.pin(randomId(), "warm-up", ALL).sandboxId()); // root mount, classes, thread
    // only mounts under our own root: other tests on the machine mount and unmount meanwhile
    long mountsBefore = MountTable.readSelf().countAtOrBelow(runDir);
    long fdsBefore = openFds();

    for (int i = 0; i < 200; i++) {
      String id = randomId();
      pinner.pin(id, "cycle-" + i, ALL);
      pinner.unpin(id);
    }

    assertThat(MountTable.readSelf().countAtOrBelow(runDir)).isEqualTo(mountsBefore);
    assertThat(openFds()).isLessThanOrEqualTo(fdsBefore);
    assertThat(pinner.pinnedSandboxIds()).isEmpty();
    assertThat(pinner.switchThreadGeneration()).isEqualTo(1);
  }

  @Test
  void unpinReachesMountNamespacesCopiedWhilePinned() throws Exception {
    String id = randomId();
    Path net = pinner.pin(id, "pod", ALL).network().orElseThrow();
    // a mount namespace cloned now (as crun or any private-namespace service does) copies the pin
    for (String propagation : new String[] {"unchanged", "slave"}) {
      Process copy =
          new ProcessBuilder("unshare", "--mount", "--propagation", propagation, "sleep", "1000")
              .start();
      try {
        Path copyMountinfo = Path.of("/proc/" + copy.pid() + "/mountinfo");
        Path ownMnt = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt"));
        org.awaitility.Awaitility.await()
            .until(
                () ->
                    !Files.readSymbolicLink(Path.of("/proc/" + copy.pid() + "/ns/mnt"))
                        .equals(ownMnt));
        org.awaitility.Awaitility.await()
            .until(() -> MountTable.read(copyMountinfo).isMountPoint(net));
      } finally {
        copies.add(copy);
      }
    }

    pinner.unpin(id);

    for (Process copy : copies) {
      MountTable seen = MountTable.read(Path.of("/proc/" + copy.pid() + "/mountinfo"));
      assertThat(seen.countAtOrBelow(pinner.root().resolve(id))).as("copy " + copy.pid()).isZero();
    }
  }

  private final List<Process> copies = new java.util.ArrayList<>();

  @AfterEach
  void stopCopies() throws InterruptedException {
    for (Process copy : copies) {
      copy.destroyForcibly().waitFor();
    }
  }

  private static long openFds() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  private static long inode(Path path) throws IOException {
    return ((Number) Files.getAttribute(path, "unix:ino")).longValue();
  }

  private static String randomId() {
    byte[] bytes = new byte[32];
    ThreadLocalRandom.current().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
    return out;
  }
}
