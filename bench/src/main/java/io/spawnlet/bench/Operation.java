package io.spawnlet.bench;

/**
 * The CRI call groups the benchmark times. Calls that kubelet always issues back to back are timed
 * together, because only their sum is what a pod start or stop costs.
 */
public enum Operation {
  RUN_POD_SANDBOX("RunPodSandbox"),
  CREATE_START_CONTAINER("CreateContainer+StartContainer"),
  STOP_REMOVE_CONTAINER("StopContainer+RemoveContainer"),
  STOP_REMOVE_POD_SANDBOX("StopPodSandbox+RemovePodSandbox");

  private final String label;

  Operation(String label) {
    this.label = label;
  }

  /** The CRI method names, as they appear in the report. */
  public String label() {
    return label;
  }
}
