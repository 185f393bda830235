package io.spawnlet.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;

/** {@code spawnlet version}: the launcher's version. */
@Command(
    name = "version",
    mixinStandardHelpOptions = true,
    description = "Print the spawnlet version.")
final class VersionCommand implements Runnable {
  @Override
  public void run() {
    System.out.println("spawnlet " + version());
  }

  static String version() {
    try (InputStream in = VersionCommand.class.getResourceAsStream("version.properties")) {
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static final class Provider implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"spawnlet " + version()};
    }
  }
}
