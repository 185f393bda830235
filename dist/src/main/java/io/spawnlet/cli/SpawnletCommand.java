package io.spawnlet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code spawnlet} executable: one binary, several roles (see docs/ARCHITECTURE.md). */
@Command(
    name = "spawnlet",
    mixinStandardHelpOptions = true,
    versionProvider = VersionCommand.Provider.class,
    description = "Kubernetes node agent for full-OS system containers.",
    subcommands = {VersionCommand.class, CommandLine.HelpCommand.class})
public final class SpawnletCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing subcommand: try 'spawnlet --help'");
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new SpawnletCommand()).execute(args));
  }
}
