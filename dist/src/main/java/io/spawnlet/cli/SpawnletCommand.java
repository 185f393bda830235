package io.spawnlet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code spawnlet} executable: one binary, several roles (see docs/ARCHITECTURE.md). */
@Command(
    name = "spawnlet",
    mixinStandardHelpOptions = true,
    versionProvider = VersionCommand.Provider.class,
    description = "Kubernetes node agent for full-OS system containers.",
    subcommands = {
      CriCommand.class,
      AgentCommand.class,
      NodeCommand.class,
      NodesCommand.class,
      ImageCommand.class,
      PodsCommand.class,
      RunCommand.class,
      VersionCommand.class,
      CommandLine.HelpCommand.class
    })
public final class SpawnletCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing subcommand: try 'spawnlet --help'");
  }

  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new SpawnletCommand());
    // Errors users can act on (bad input, daemon refusals) print as one line, not a stack trace.
    cli.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          cmd.getErr().println("spawnlet: " + describe(e));
          return 1;
        });
    System.exit(cli.execute(args));
  }

  private static String describe(Exception e) {
    if (e instanceof io.grpc.StatusRuntimeException s) {
      return s.getStatus().getCode() + ": " + s.getStatus().getDescription();
    }
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }
}
