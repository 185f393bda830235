package io.spawnlet.cli;

import io.spawnlet.cri.SpawnletDaemon;
import io.spawnlet.cri.config.DaemonConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code spawnlet cri}: the CRI daemon in the foreground. */
@Command(
    name = "cri",
    mixinStandardHelpOptions = true,
    description = {
      "Run the CRI daemon (RuntimeService + ImageService) on a unix socket.",
      "Every option is also a key of the config file; options win."
    })
final class CriCommand implements Callable<Integer> {
  @Mixin DaemonOptions options;

  @Override
  public Integer call() throws Exception {
    DaemonConfig effective = options.effective();
    Logging.setLevel(effective.logLevel());
    try (SpawnletDaemon daemon = SpawnletDaemon.start(effective, VersionCommand.version())) {
      Runtime.getRuntime().addShutdownHook(new Thread(daemon::close, "shutdown"));
      daemon.awaitTermination();
    }
    return 0;
  }
}
