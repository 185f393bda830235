package io.spawnlet.cri.activation;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.cri.host.MountTable;
import io.spawnlet.cri.host.NamespaceKind;
import io.spawnlet.cri.host.NamespacePinner;
import io.spawnlet.cri.host.NetnsListeners;
import io.spawnlet.cri.host.ProcessSpawner;
import io.spawnlet.cri.host.Syscalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real kernel, root needed: listening sockets opened inside a fresh network namespace, kept by a
 * holder living in that namespace, taken back with pidfd_getfd as a restarted daemon does.
 */
class SocketHolderIT {
  @org.junit.jupiter.api.io.TempDir Path podRunDir;

  private Path runDir;
  private NamespacePinner pinner;
  private String sandboxId;

  @BeforeEach
  void setUp() throws IOException {
    runDir = Files.createTempDirectory("spawnlet-activation-it-");
    pinner = new NamespacePinner(runDir);
    byte[] id = new byte[16];
    ThreadLocalRandom.current().nextBytes(id);
    sandboxId = HexFormat.of().formatHex(id);
  }

  @AfterEach
  void tearDown() throws IOException {
    pinner.unpin(sandboxId);
    Syscalls.umount(pinner.root().toString(), Syscalls.MNT_DETACH);
    assertThat(MountTable.readSelf().countAtOrBelow(runDir)).isZero();
    try (Stream<Path> walk = Files.walk(runDir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Test
  void socketsLiveInThePodNetnsAndSurviveInTheHolder() throws Exception {
    Path netns = pinner.pin(sandboxId, "", EnumSet.of(NamespaceKind.NET)).network().orElseThrow();
    int port = 20000 + ThreadLocalRandom.current().nextInt(20000);
    List<ActivationPort> ports =
        List.of(
            new ActivationPort(port, ActivationPort.Protocol.TCP),
            new ActivationPort(port, ActivationPort.Protocol.UDP));
    NetnsListeners.Opened opened =
        new NetnsListeners()
            .open(
                netns,
                ports.stream()
                    .map(p -> new NetnsListeners.Listen(p.protocol().socketType(), p.port()))
                    .toList(),
                SocketActivation.BACKLOG);
    // A fresh netns has its loopback down, no IPv6 address: plain IPv4 wildcard sockets.
    assertThat(opened.dualStack()).isFalse();
    SocketHolder holders = new SocketHolder(new ProcessSpawner());
    SocketHolder.Holder holder = holders.start(netns, opened.fds(), podRunDir);
    try {
      opened.fds().forEach(Syscalls::close); // the daemon "dies": only the holder keeps them
      // it runs in the pod's run directory, where whatever outlives the daemon is looked for
      assertThat(Files.readSymbolicLink(Path.of("/proc/" + holder.pid() + "/cwd")))
          .isEqualTo(podRunDir);
      Path tcp = Path.of("/proc/" + holder.pid() + "/net/tcp");
      String hexPort = String.format(":%04X", port);
      assertThat(Files.readAllLines(tcp))
          .as("the holder's netns lists the listener")
          .anyMatch(l -> l.contains("00000000" + hexPort + " 00000000:0000 0A"));
      assertThat(Files.readString(Path.of("/proc/net/tcp")))
          .as("the host's netns does not")
          .doesNotContain("00000000" + hexPort + " 00000000:0000 0A");
      assertThat(IdleProbe.busy(holder.pid(), ports)).isFalse();

      List<Integer> adopted =
          holders.adopt(holder.pid(), holder.startTime(), ports.size()).orElseThrow();
      assertThat(adopted).hasSize(2);
      for (int fd : adopted) {
        assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString())
            .startsWith("socket:");
        Syscalls.close(fd);
      }
      assertThat(holders.adopt(holder.pid(), holder.startTime() + 1, 2))
          .as("a pid with another start time is not our holder")
          .isEmpty();
    } finally {
      holders.stop(holder, true);
    }
    assertThat(SocketHolder.startTime(holder.pid())).isEmpty();
  }
}
