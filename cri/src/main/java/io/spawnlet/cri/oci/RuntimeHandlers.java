package io.spawnlet.cri.oci;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The configured CRI runtime handlers (crun, runc, …), each an {@link OciRuntime} with its own
 * runtime root and exit directory, plus one exit monitor per handler.
 */
public final class RuntimeHandlers implements AutoCloseable {
  private final Map<String, OciRuntime> runtimes;
  private final String defaultName;
  private final List<ExitMonitor> monitors = new ArrayList<>();

  private RuntimeHandlers(Map<String, OciRuntime> runtimes, String defaultName) {
    this.runtimes = runtimes;
    this.defaultName = defaultName;
  }

  /**
   * @param binaries handler name → OCI runtime binary; the handler's flavour (crun or runc) is the
   *     binary's file name
   */
  public static RuntimeHandlers open(
      Map<String, Path> binaries,
      String defaultName,
      Path conmon,
      CgroupHierarchies layout,
      Path runRoot) {
    if (!binaries.containsKey(defaultName)) {
      throw new IllegalArgumentException(
          "defaultRuntime \""
              + defaultName
              + "\" is not one of the configured runtimes "
              + binaries.keySet());
    }
    Map<String, OciRuntime> m = new LinkedHashMap<>();
    binaries.forEach(
        (name, binary) -> {
          RuntimeHandler base =
              binary.getFileName().toString().contains("runc")
                  ? RuntimeHandler.runc(runRoot.resolve("runtime"))
                  : RuntimeHandler.crun(runRoot.resolve("runtime"));
          RuntimeHandler h =
              new RuntimeHandler(
                  name,
                  binary,
                  runRoot.resolve("runtime").resolve(name),
                  conmon,
                  base.globalFlags());
          m.put(name, OciRuntime.open(h, layout, runRoot.resolve("oci").resolve(name)));
        });
    return new RuntimeHandlers(m, defaultName);
  }

  /** Starts watching every handler's exit directory. */
  public void watchExits(ExitMonitor.Listener listener) {
    for (OciRuntime r : runtimes.values()) {
      ExitMonitor m = new ExitMonitor(r.exitDir(), listener);
      m.start();
      monitors.add(m);
    }
  }

  /** The handler a request names ("" = default); unknown names are the caller's error. */
  public String resolve(String field, String requested) {
    String name = requested == null || requested.isEmpty() ? defaultName : requested;
    if (!runtimes.containsKey(name)) {
      throw CriException.invalid(
          field,
          "no runtime handler \""
              + requested
              + "\" is configured here; known handlers: "
              + runtimes.keySet());
    }
    return name;
  }

  public OciRuntime runtime(String name) {
    OciRuntime r = runtimes.get(name.isEmpty() ? defaultName : name);
    if (r == null) {
      throw CriException.precondition(
          "runtime handler \""
              + name
              + "\" of this container is no longer configured; add it back to the config");
    }
    return r;
  }

  public List<String> names() {
    return List.copyOf(runtimes.keySet());
  }

  public String defaultName() {
    return defaultName;
  }

  /** Why containers cannot run, if they cannot: a missing runtime or monitor binary. */
  public Optional<String> problem() {
    for (OciRuntime r : runtimes.values()) {
      RuntimeHandler h = r.handler();
      if (!Files.isExecutable(h.runtimePath())) {
        return Optional.of(
            "OCI runtime "
                + h.runtimePath()
                + " (handler "
                + h.name()
                + ") is not installed: apt-get install "
                + h.runtimePath().getFileName());
      }
      if (!Files.isExecutable(h.monitorPath())) {
        return Optional.of(
            "container monitor " + h.monitorPath() + " is not installed: apt-get install conmon");
      }
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    monitors.forEach(ExitMonitor::close);
  }
}
