package io.spawnlet.agent.volume;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Writes a volume's files so that a reader in the container never sees a mix of old and new, the
 * kubelet's way:
 *
 * <pre>
 *   DIR/..2025_01_02_15_04_05.123456789/   the files of one version
 *   DIR/..data -> ..2025_01_02_...          swapped by rename(2) of a new symlink
 *   DIR/key    -> ..data/key                one link per top-level name, made once
 * </pre>
 *
 * Old versions are deleted after the swap; links for names that went away are removed.
 */
public final class AtomicVolumeWriter {
  static final String DATA = "..data";
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyy_MM_dd_HH_mm_ss.nnnnnnnnn");

  private AtomicVolumeWriter() {}

  /** Returns true when the content changed (and was swapped in), false when it was current. */
  public static boolean write(Path dir, Map<String, VolumeFile> files) throws IOException {
    Files.createDirectories(dir);
    Path data = dir.resolve(DATA);
    if (Files.isDirectory(data) && current(data).equals(files)) {
      return false;
    }
    Path version = dir.resolve(".." + LocalDateTime.now().format(STAMP));
    Files.createDirectory(version);
    for (var e : files.entrySet()) {
      Path file = version.resolve(e.getKey()).normalize();
      if (!file.startsWith(version) || e.getKey().startsWith("..")) {
        throw new IOException("volume file name '" + e.getKey() + "' leaves the volume");
      }
      Files.createDirectories(file.getParent());
      Files.write(file, e.getValue().content());
      Files.setPosixFilePermissions(file, permissions(e.getValue().mode()));
    }
    Path old = Files.isSymbolicLink(data) ? dir.resolve(Files.readSymbolicLink(data)) : null;
    Path tmp = dir.resolve("..data_tmp");
    Files.deleteIfExists(tmp);
    Files.createSymbolicLink(tmp, version.getFileName());
    Files.move(tmp, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

    Set<String> names = new TreeSet<>();
    files.keySet().forEach(k -> names.add(Path.of(k).getName(0).toString()));
    for (String name : names) {
      Path link = dir.resolve(name);
      if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
        Files.createSymbolicLink(link, Path.of(DATA, name));
      }
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        String n = p.getFileName().toString();
        if (!n.startsWith("..") && Files.isSymbolicLink(p) && !names.contains(n)) {
          Files.delete(p);
        }
      }
    }
    if (old != null && !old.equals(version)) {
      deleteTree(old);
    }
    return true;
  }

  private static Map<String, VolumeFile> current(Path data) throws IOException {
    Map<String, VolumeFile> files = new HashMap<>();
    Path root = data.toRealPath();
    try (Stream<Path> tree = Files.walk(root)) {
      for (Path p : tree.filter(Files::isRegularFile).toList()) {
        int mode = mode(Files.getPosixFilePermissions(p));
        files.put(root.relativize(p).toString(), new VolumeFile(Files.readAllBytes(p), mode));
      }
    }
    return files;
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE
    for (int i = 0; i < 9; i++) {
      if ((mode & (1 << (8 - i))) != 0) {
        set.add(order[i]);
      }
    }
    return set;
  }

  private static int mode(Set<PosixFilePermission> perms) {
    int mode = 0;
    for (PosixFilePermission p : perms) {
      mode |= 1 << (8 - p.ordinal());
    }
    return mode;
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> tree = Files.walk(dir)) {
      for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
