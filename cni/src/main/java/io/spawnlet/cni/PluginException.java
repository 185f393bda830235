package io.spawnlet.cni;

/**
 * A plugin ran and reported failure, either with the spec's error object ({@code code}, {@code
 * msg}, {@code details}) on stdout or, for plugins that break the spec, only with an exit status
 * and stderr. Codes below 100 are the spec's well-known ones (e.g. 7 invalid network config, 11 try
 * again later, 50 plugin not available); {@link #code()} is 0 when the plugin gave none.
 */
public final class PluginException extends CniException {
  private static final long serialVersionUID = 1L;

  /** Spec error code 11: a transient failure; the runtime may retry the operation later. */
  public static final int TRY_AGAIN_LATER = 11;

  /** Spec error code 50 (STATUS): the plugin cannot serve ADD requests at the moment. */
  public static final int PLUGIN_NOT_AVAILABLE = 50;

  private final String plugin;
  private final String command;
  private final int code;
  private final String msg;
  private final String details;

  public PluginException(
      String plugin, String command, String context, int code, String msg, String details) {
    super(describe(plugin, command, context, code, msg, details));
    this.plugin = plugin;
    this.command = command;
    this.code = code;
    this.msg = msg;
    this.details = details;
  }

  private static String describe(
      String plugin, String command, String context, int code, String msg, String details) {
    StringBuilder s = new StringBuilder();
    s.append("CNI plugin \"").append(plugin).append("\" failed ").append(command);
    if (!context.isEmpty()) {
      s.append(" (").append(context).append(')');
    }
    s.append(": ");
    if (code != 0) {
      s.append("code ").append(code).append(": ");
    }
    s.append(msg.isEmpty() ? "(no message)" : msg);
    if (!details.isEmpty()) {
      s.append("; ").append(details);
    }
    return s.toString();
  }

  /** The plugin's {@code type}, i.e. the name of its binary. */
  public String plugin() {
    return plugin;
  }

  /** ADD, DEL, CHECK, STATUS or GC. */
  public String command() {
    return command;
  }

  public int code() {
    return code;
  }

  public String msg() {
    return msg;
  }

  public String details() {
    return details;
  }
}
