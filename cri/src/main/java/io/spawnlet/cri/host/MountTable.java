package io.spawnlet.cri.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The mounts of a mount namespace as the kernel lists them in {@code /proc/PID/mountinfo} (format:
 * proc(5)). Parsed once per read; the table does not follow later changes.
 */
public record MountTable(List<Mount> mounts) {

  /** One line of mountinfo. Paths are unescaped (the kernel writes a space as {@code \040}). */
  public record Mount(
      int id,
      int parentId,
      String root,
      String mountPoint,
      List<String> optionalFields,
      String fsType,
      String source,
      List<String> superOptions) {}

  public MountTable {
    mounts = List.copyOf(mounts);
  }

  /** The mounts of this process's mount namespace. */
  public static MountTable readSelf() {
    return read(Path.of("/proc/self/mountinfo"));
  }

  public static MountTable read(Path mountinfo) {
    try {
      return parse(Files.readAllLines(mountinfo));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the mount table " + mountinfo, e);
    }
  }

  public static MountTable parse(List<String> lines) {
    List<Mount> mounts = new ArrayList<>();
    for (String line : lines) {
      if (!line.isBlank()) {
        mounts.add(parseLine(line));
      }
    }
    return new MountTable(mounts);
  }

  /** Whether something is mounted exactly at {@code path} (an absolute, normalized path). */
  public boolean isMountPoint(Path path) {
    String wanted = path.toString();
    return mounts.stream().anyMatch(m -> m.mountPoint().equals(wanted));
  }

  /**
   * The mount point of the mount on which the mount at {@code path} sits (its parent in the mount
   * tree); empty if nothing is mounted at {@code path} or its parent is not listed.
   */
  public Optional<Path> parentMountPoint(Path path) {
    String wanted = path.toString();
    return mounts.stream()
        .filter(m -> m.mountPoint().equals(wanted))
        .reduce((first, second) -> second) // the topmost of stacked mounts is what a path sees
        .flatMap(child -> mounts.stream().filter(m -> m.id() == child.parentId()).findFirst())
        .map(parent -> Path.of(parent.mountPoint()));
  }

  /**
   * The mount {@code path} is on: the one with the longest mount point at or above it (the last
   * listed, if several are stacked there).
   */
  public Optional<Mount> holderOf(Path path) {
    Mount best = null;
    for (Mount m : mounts) {
      Path point = Path.of(m.mountPoint());
      if (path.startsWith(point)
          && (best == null || point.getNameCount() >= Path.of(best.mountPoint()).getNameCount())) {
        best = m;
      }
    }
    return Optional.ofNullable(best);
  }

  /** How many mounts have a mount point at or below {@code path}. */
  public long countAtOrBelow(Path path) {
    return mounts.stream().filter(m -> Path.of(m.mountPoint()).startsWith(path)).count();
  }

  private static Mount parseLine(String line) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source super
    String[] f = line.trim().split(" ");
    int separator = -1;
    for (int i = 6; i < f.length; i++) {
      if (f[i].equals("-")) {
        separator = i;
        break;
      }
    }
    if (separator < 0 || separator + 1 >= f.length) {
      throw new IllegalArgumentException("malformed mountinfo line: " + line);
    }
    List<String> optional = List.of(f).subList(6, separator);
    String fsType = f[separator + 1];
    String source = separator + 2 < f.length ? unescape(f[separator + 2]) : "";
    List<String> superOptions =
        separator + 3 < f.length ? List.of(f[separator + 3].split(",")) : List.of();
    return new Mount(
        Integer.parseInt(f[0]),
        Integer.parseInt(f[1]),
        unescape(f[3]),
        unescape(f[4]),
        optional,
        fsType,
        source,
        superOptions);
  }

  /** Undoes the kernel's octal escapes of space, tab, newline and backslash. */
  static String unescape(String field) {
    if (field.indexOf('\\') < 0) {
      return field;
    }
    StringBuilder out = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && isOctal(field, i + 1)) {
        out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean isOctal(String s, int from) {
    if (from + 3 > s.length()) {
      return false;
    }
    for (int i = from; i < from + 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '7') {
        return false;
      }
    }
    return true;
  }
}
