package io.spawnlet.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link HelmNodeIT} keeps of an agent upgrade in {@code target/helm-node/} (the test's temp
 * dirs are gone when it fails): the old agent's log followed to its end, the host's conmon, crun
 * and container processes with their cgroups once a second, and afterwards both runtimes' view, the
 * new agent's log and the kubelet's and containerd's logs.
 */
final class HelmUpgradeDiagnostics {
  static final Path DIR = Path.of("target", "helm-node");

  private final List<Process> followers;

  private HelmUpgradeDiagnostics(List<Process> followers) {
    this.followers = followers;
  }

  /** Starts following the running agent's log and sampling the host's processes. */
  static HelmUpgradeDiagnostics start(Crictl containerd, Path hostRoot) {
    try {
      Files.createDirectories(DIR);
      List<Process> followers = new ArrayList<>();
      String oldAgent = containerd.runTrimmed("ps", "-q", "--name", "spawnlet");
      followers.add(
          new ProcessBuilder(containerd.command("logs", "-f", oldAgent))
              .redirectErrorStream(true)
              .redirectOutput(DIR.resolve("old-agent.log").toFile())
              .start());
      String sample =
          """
          while :; do
            echo "== $(date -u +%T.%N)"
            ps -eo pid,ppid,stat,cgroup:400,args | grep -E 'conmon|crun|runc|/sbin/init|systemd|java' \\
              | grep -v -e grep -e 'ps -eo'
            sleep 1
          done
          """;
      followers.add(
          new ProcessBuilder("bash", "-c", sample)
              .redirectErrorStream(true)
              .redirectOutput(DIR.resolve("processes.log").toFile())
              .start());
      Files.writeString(DIR.resolve("host-root"), hostRoot.toString());
      String mounts =
          "readlink /proc/1/ns/mnt /proc/self/ns/mnt; grep -F '"
              + hostRoot
              + "' /proc/self/mountinfo";
      Files.writeString(
          DIR.resolve("mounts-before.txt"),
          "in the agent container:\n"
              + containerd.tryRun("exec", oldAgent, "sh", "-c", mounts)
              + "\non the host:\n"
              + ProcessResult.run(
                  List.of("sh", "-c", mounts),
                  java.util.Map.of(),
                  DIR,
                  java.time.Duration.ofSeconds(30)));
      return new HelmUpgradeDiagnostics(followers);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the upgrade diagnostics in " + DIR, e);
    }
  }

  /** Stops the followers and writes both runtimes' state and the node's logs. */
  void finish(Crictl containerd, Crictl spawnlet, Path nodeLogs) {
    followers.forEach(Process::destroy);
    StringBuilder state = new StringBuilder();
    state.append("containerd:\n").append(containerd.tryRun("ps", "-a")).append('\n');
    state.append("spawnlet pods:\n").append(spawnlet.tryRun("pods")).append('\n');
    state.append("spawnlet containers:\n").append(spawnlet.tryRun("ps", "-a")).append('\n');
    String newAgent = containerd.tryRun("ps", "-q", "--name", "spawnlet").stdout().strip();
    try {
      Files.writeString(DIR.resolve("runtimes.txt"), state);
      Files.writeString(
          DIR.resolve("mounts-after.txt"),
          ProcessResult.run(
                  List.of(
                      "grep",
                      "-F",
                      Files.readString(DIR.resolve("host-root")),
                      "/proc/self/mountinfo"),
                  java.util.Map.of(),
                  DIR,
                  java.time.Duration.ofSeconds(30))
              .toString());
      if (!newAgent.isBlank()) {
        Files.writeString(
            DIR.resolve("new-agent.log"), containerd.tryRun("logs", newAgent).toString());
      }
      try (var logs = Files.list(nodeLogs)) {
        for (Path log : logs.toList()) {
          Files.copy(log, DIR.resolve(log.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the upgrade diagnostics in " + DIR, e);
    }
  }
}
