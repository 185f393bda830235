package io.spawnlet.cri.host;

/** The namespaces a pod shares between its containers and that spawnlet pins for it. */
public enum NamespaceKind {
  NET("net", Syscalls.CLONE_NEWNET),
  IPC("ipc", Syscalls.CLONE_NEWIPC),
  UTS("uts", Syscalls.CLONE_NEWUTS);

  private final String procName;
  private final int cloneFlag;

  NamespaceKind(String procName, int cloneFlag) {
    this.procName = procName;
    this.cloneFlag = cloneFlag;
  }

  /** The name of the namespace under {@code /proc/PID/ns/} (also the pinned file's name). */
  public String procName() {
    return procName;
  }

  /** The {@code CLONE_NEW*} flag for unshare(2) and setns(2). */
  public int cloneFlag() {
    return cloneFlag;
  }

  /** The OCI runtime-spec name of this namespace type ({@code linux.namespaces[].type}). */
  public String ociType() {
    return switch (this) {
      case NET -> "network";
      case IPC -> "ipc";
      case UTS -> "uts";
    };
  }
}
