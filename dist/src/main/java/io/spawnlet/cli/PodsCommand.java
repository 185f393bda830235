package io.spawnlet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandboxStatusRequest;

/** {@code spawnlet pods}: every pod the daemon runs, with its address and state. */
@Command(
    name = "pods",
    mixinStandardHelpOptions = true,
    description =
        "List pods: name, namespace, IP, state (sleeping|waking|running for socket-activated"
            + " pods), wakes, created.")
final class PodsCommand implements Callable<Integer> {
  @CommandLine.Mixin DaemonSocket daemon;

  @Override
  public Integer call() {
    try (CriClient cri = daemon.connect()) {
      var pods = cri.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance());
      String fmt = "%-13s  %-30s  %-15s  %-15s  %-8s  %-5s  %s%n";
      System.out.printf(fmt, "POD ID", "NAME", "NAMESPACE", "IP", "STATE", "WAKES", "CREATED");
      for (var p : pods.getItemsList()) {
        var st =
            cri.runtime()
                .podSandboxStatus(
                    PodSandboxStatusRequest.newBuilder()
                        .setPodSandboxId(p.getId())
                        .setVerbose(true)
                        .build());
        String ip = st.getStatus().getNetwork().getIp();
        String state =
            p.getState() == runtime.v1.PodSandboxState.SANDBOX_READY ? "running" : "stopped";
        String wakes = "-";
        JsonNode activation = activationOf(st.getInfoMap().getOrDefault("info", "{}"));
        if (!activation.isMissingNode() && !state.equals("stopped")) {
          state = activation.path("state").asText(state);
          wakes = activation.path("wakes").asText("0");
        }
        System.out.printf(
            fmt,
            p.getId().substring(0, 13),
            p.getMetadata().getName(),
            p.getMetadata().getNamespace(),
            ip.isEmpty() ? "-" : ip,
            state,
            wakes,
            Instant.ofEpochSecond(0, p.getCreatedAt()));
      }
    }
    return 0;
  }

  /** The socket activation part of the verbose info, or a missing node. */
  private static JsonNode activationOf(String info) {
    try {
      return new ObjectMapper().readTree(info).path("activation");
    } catch (java.io.IOException e) {
      return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }
  }
}
