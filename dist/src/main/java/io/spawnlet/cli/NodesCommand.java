package io.spawnlet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code spawnlet nodes}: operations on the Nodes spawnlet registered (the chart's hooks). */
@Command(
    name = "nodes",
    mixinStandardHelpOptions = true,
    subcommands = {NodesReleaseCommand.class},
    description = "Operations on the cluster's spawnlet nodes.")
final class NodesCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
