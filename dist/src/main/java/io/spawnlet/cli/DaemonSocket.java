package io.spawnlet.cli;

import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The {@code --socket} of commands that ask a running daemon, and the connection to it. */
final class DaemonSocket {
  @Option(
      names = "--socket",
      defaultValue = "/run/spawnlet/cri.sock",
      description = "CRI socket of the daemon (default: ${DEFAULT-VALUE}).")
  Path socket;

  @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
  CommandLine.Model.CommandSpec command;

  CriClient connect() {
    return new CriClient(socket, command.commandLine());
  }
}
