package io.spawnlet.cri.sandbox;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.Syscalls;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import runtime.v1.DNSConfig;

/**
 * Files every container of a pod shares, as the kubelet and containerd provide them: {@code
 * /etc/resolv.conf}, {@code /etc/hosts}, {@code /etc/hostname}, and the pod's {@code /dev/shm} (a
 * tmpfs, since without a pause process nobody else would own it).
 */
public final class SandboxFiles {
  static final long SHM_BYTES = 64L * 1024 * 1024;
  private final Path stateDir;
  private final Path runDir;

  /**
   * {@code stateDir}: the sandbox's directory in the state root; {@code runDir}: in the run root.
   */
  public SandboxFiles(Path stateDir, Path runDir) {
    this.stateDir = stateDir;
    this.runDir = runDir;
  }

  public Path resolvConf() {
    return stateDir.resolve("resolv.conf");
  }

  public Path hosts() {
    return stateDir.resolve("hosts");
  }

  public Path hostname() {
    return stateDir.resolve("hostname");
  }

  /**
   * The pod's run directory (run-time files), made if missing. The pod's helper processes (socket
   * holder, PID namespace holder) run in it, so whatever outlives its daemon is found by its cwd.
   */
  public Path runDirectory() {
    try {
      return Files.createDirectories(runDir);
    } catch (IOException e) {
      throw CriException.internal("cannot make the pod's run directory " + runDir, e);
    }
  }

  /** Socket activation's state (holder pid, sockets): run-time only, like the pinned netns. */
  public Path activationState() {
    return runDir.resolve("activation.json");
  }

  /** Who holds the pod's shared PID namespace (PodPidNamespace): run-time only, like the netns. */
  public Path pidNamespaceHolder() {
    return runDir.resolve("pid-namespace-holder");
  }

  /** The pod's machine id (system pods), made once by {@link MachineId#ensure}. */
  public Path machineId() {
    return stateDir.resolve("machine-id");
  }

  public Path shm() {
    return runDir.resolve("shm");
  }

  public void write(String hostname, DNSConfig dns, List<String> ips) throws IOException {
    AtomicFiles.write(hostname(), (hostname + "\n").getBytes(StandardCharsets.UTF_8));
    AtomicFiles.write(resolvConf(), resolvConf(dns).getBytes(StandardCharsets.UTF_8));
    writeHosts(hostname, ips);
  }

  public void writeHosts(String hostname, List<String> ips) throws IOException {
    StringBuilder h =
        new StringBuilder()
            .append("127.0.0.1\tlocalhost\n")
            .append("::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (String ip : ips) {
      h.append(ip).append('\t').append(hostname).append('\n');
    }
    AtomicFiles.write(hosts(), h.toString().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The pod's DNS config, or the host's resolv.conf when the pod gives none (as containerd does).
   */
  static String resolvConf(DNSConfig dns) throws IOException {
    if (dns.getServersCount() == 0 && dns.getSearchesCount() == 0 && dns.getOptionsCount() == 0) {
      Path host = Path.of("/etc/resolv.conf");
      return Files.exists(host) ? Files.readString(host) : "";
    }
    StringBuilder r = new StringBuilder();
    if (dns.getSearchesCount() > 0) {
      r.append("search ").append(String.join(" ", dns.getSearchesList())).append('\n');
    }
    for (String s : dns.getServersList()) {
      r.append("nameserver ").append(s).append('\n');
    }
    if (dns.getOptionsCount() > 0) {
      r.append("options ").append(String.join(" ", dns.getOptionsList())).append('\n');
    }
    return r.toString();
  }

  public void mountShm() {
    try {
      Files.createDirectories(shm());
    } catch (IOException e) {
      throw CriException.internal("creating " + shm() + ": " + e.getMessage(), e);
    }
    Syscalls.mount(
        "shm",
        shm().toString(),
        "tmpfs",
        Syscalls.MS_NOSUID | Syscalls.MS_NODEV | Syscalls.MS_NOEXEC,
        "mode=1777,size=" + SHM_BYTES);
  }

  /** Idempotent: nothing mounted is fine. */
  public void unmountShm() {
    Syscalls.umount(shm().toString(), Syscalls.MNT_DETACH);
  }
}
