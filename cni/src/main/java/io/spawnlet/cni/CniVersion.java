package io.spawnlet.cni;

/** Compares CNI spec versions ("0.3.1", "1.0.0", "1.1.0") numerically. */
final class CniVersion {
  private CniVersion() {}

  static boolean atLeast(String version, String minimum) {
    return compare(version, minimum) >= 0;
  }

  static int compare(String a, String b) {
    int[] x = parts(a);
    int[] y = parts(b);
    for (int i = 0; i < 3; i++) {
      if (x[i] != y[i]) {
        return Integer.compare(x[i], y[i]);
      }
    }
    return 0;
  }

  static boolean isValid(String version) {
    return version.matches("\\d+\\.\\d+\\.\\d+");
  }

  private static int[] parts(String v) {
    String[] p = v.split("\\.");
    int[] out = new int[3];
    for (int i = 0; i < Math.min(3, p.length); i++) {
      try {
        out[i] = Integer.parseInt(p[i]);
      } catch (NumberFormatException e) {
        throw new CniException("\"" + v + "\" is not a CNI version (expected e.g. 1.0.0)");
      }
    }
    return out;
  }
}
