package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * critest v1.34 (the CRI validation suite) against the real daemon, its images served by a loopback
 * registry under their upstream names (the daemon's {@code registries: HOST: server:} config). Not
 * {@code -registry-prefix}: with it critest pulls {@code PREFIX/path:latest} but then creates
 * containers with the unprefixed name, which no runtime has. The specs recorded in {@code
 * e2e/critest-pass.txt} must pass; others may fail (see that file's header for why). {@code
 * -Dspawnlet.critestFocus=REGEX} runs only the matching specs (e.g. {@code Streaming}). The specs
 * passing now are written to {@code target/critest-passing-now.txt} to update the record.
 */
class CritestIT {
  /** Nothing skipped: the pattern matches no spec name. */
  private static final String SKIP = "^$";

  private static final long TIMEOUT_MINUTES = 12;

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  @Test
  void recordedSpecsPass() throws Exception {
    Optional<Path> critest = setting("spawnlet.critest", "SPAWNLET_CRITEST");
    Optional<Path> storage = E2eEnvironment.fromSystem().testRegistryStorage();
    Assumptions.assumeTrue(
        critest.isPresent() && storage.isPresent(),
        "SPAWNLET_CRITEST and SPAWNLET_TEST_REGISTRY_STORAGE are needed (scripts/test.sh sets"
            + " both)");
    Path work = DAEMON.base().resolve("critest");
    Files.createDirectories(work);
    Path junit = work.resolve("junit.xml");
    try (LoopbackRegistry registry =
        LoopbackRegistry.start(storage.get(), DAEMON.base().resolve("registry"), null)) {
      // critest's images keep their upstream names; the daemon fetches those two hosts' content
      // from the loopback registry (`server:` replaces the host: nothing leaves the machine).
      Files.writeString(
          DAEMON.configFile(),
          "registries:\n"
              + "  registry.k8s.io: {server: \"http://"
              + registry.host()
              + "\"}\n"
              + "  gcr.io: {server: \"http://"
              + registry.host()
              + "\"}\n");
      DAEMON.restart();
      String endpoint = "unix://" + DAEMON.socket();
      List<String> command =
          new java.util.ArrayList<>(
              List.of(
                  critest.get().toString(),
                  "-runtime-endpoint",
                  endpoint,
                  "-image-endpoint",
                  endpoint,
                  "-ginkgo.skip",
                  SKIP,
                  "-ginkgo.no-color",
                  "-ginkgo.junit-report",
                  junit.toString()));
      String focus = System.getProperty("spawnlet.critestFocus", "");
      if (!focus.isEmpty()) {
        command.addAll(List.of("-ginkgo.focus", focus));
      }
      Process process =
          new ProcessBuilder(command)
              .directory(work.toFile())
              .redirectErrorStream(true)
              .redirectOutput(work.resolve("critest.log").toFile())
              .start();
      if (!process.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        process.destroyForcibly().waitFor();
        throw new AssertionError("critest did not finish in " + TIMEOUT_MINUTES + " minutes");
      }
    }
    assertThat(junit).as("critest's JUnit report; log in " + work).exists();
    // kept after the daemon's temp tree is gone: the per-spec report and critest's output
    Files.copy(junit, Path.of("target", "critest-junit.xml"), StandardCopyOption.REPLACE_EXISTING);
    Files.copy(
        work.resolve("critest.log"),
        Path.of("target", "critest.log"),
        StandardCopyOption.REPLACE_EXISTING);
    TreeSet<String> passed = new TreeSet<>();
    TreeSet<String> failed = new TreeSet<>();
    int skipped = 0;
    NodeList cases =
        DocumentBuilderFactory.newInstance()
            .newDocumentBuilder()
            .parse(junit.toFile())
            .getElementsByTagName("testcase");
    for (int i = 0; i < cases.getLength(); i++) {
      Element c = (Element) cases.item(i);
      String name = c.getAttribute("name").replaceFirst("^\\[It\\] ", "").strip();
      if (name.startsWith("[SynchronizedBeforeSuite]")
          || name.startsWith("[SynchronizedAfterSuite]")) {
        continue;
      }
      if (c.getElementsByTagName("skipped").getLength() > 0) {
        skipped++;
      } else if (c.getElementsByTagName("failure").getLength() > 0
          || c.getElementsByTagName("error").getLength() > 0) {
        failed.add(name);
      } else {
        passed.add(name);
      }
    }
    Files.write(Path.of("target", "critest-passing-now.txt"), passed, StandardCharsets.UTF_8);
    List<String> recorded = recorded();
    List<String> regressions = new ArrayList<>();
    for (String spec : recorded) {
      if (!passed.contains(spec)) {
        regressions.add(spec + (failed.contains(spec) ? "" : " (not run)"));
      }
    }
    System.out.printf(
        "critest: %d passed, %d failed, %d skipped (%s); %d recorded in critest-pass.txt%n",
        passed.size(), failed.size(), skipped, SKIP, recorded.size());
    assertThat(regressions)
        .as("recorded critest specs that no longer pass; see e2e/target/critest.log")
        .isEmpty();
  }

  private static List<String> recorded() throws IOException {
    return Files.readAllLines(Path.of("critest-pass.txt"), StandardCharsets.UTF_8).stream()
        .map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("#"))
        .toList();
  }

  private static Optional<Path> setting(String property, String variable) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      value = System.getenv(variable);
    }
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(Path.of(value));
  }
}
