package io.spawnlet.cri.storage;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.SyscallException;
import io.spawnlet.cri.host.Syscalls;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unpacks one layer tar into a directory in overlayfs form, as root: ownership, modes (setuid
 * included), mtimes, symlinks, hardlinks, device nodes, fifos and {@code SCHILY.xattr.*} extended
 * attributes are kept; OCI whiteouts become overlayfs whiteouts ({@code .wh.NAME} → a 0/0 character
 * device NAME, {@code .wh..wh..opq} → {@code trusted.overlay.opaque=y} on the directory).
 *
 * <p>A layer is untrusted input. No entry may write outside the target: absolute names and {@code
 * ..} components are refused, and every parent component is checked without following links — a
 * symlink there (the "a → /etc, then a/passwd" trick) means the tar is hostile and the whole
 * extraction fails. Hardlink targets are confined the same way. The directory being filled is
 * private to us until the caller renames it into place, so the checks cannot be raced.
 */
final class LayerExtractor {
  private static final Logger LOG = LoggerFactory.getLogger(LayerExtractor.class);
  private static final String WHITEOUT = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";
  private static final String XATTR_PAX = "SCHILY.xattr.";
  private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

  private final Path root;
  private final List<Map.Entry<Path, FileTime>> directoryTimes = new ArrayList<>();

  LayerExtractor(Path root) {
    this.root = root.toAbsolutePath();
  }

  void extract(TarArchiveInputStream tar) throws IOException {
    TarArchiveEntry entry;
    while ((entry = tar.getNextEntry()) != null) {
      extractEntry(tar, entry);
    }
    // a directory's mtime changes whenever an entry is created in it: set them all last
    for (Map.Entry<Path, FileTime> dir : directoryTimes) {
      setTime(dir.getKey(), dir.getValue());
    }
  }

  private void extractEntry(TarArchiveInputStream tar, TarArchiveEntry entry) throws IOException {
    List<String> components = components(entry.getName());
    if (components.isEmpty()) {
      if (entry.isDirectory()) {
        applyMetadata(root, entry, true);
      }
      return;
    }
    Path parent = ensureParents(components.subList(0, components.size() - 1), entry.getName());
    String base = components.get(components.size() - 1);
    if (base.startsWith(WHITEOUT)) {
      extractWhiteout(parent, base, entry);
      return;
    }
    Path target = parent.resolve(base);
    BasicFileAttributes existing = attributesOrNull(target);
    if (existing != null && !(existing.isDirectory() && entry.isDirectory())) {
      removeExisting(target, existing);
    }
    if (entry.isDirectory()) {
      if (existing == null || !existing.isDirectory()) {
        Files.createDirectory(target);
      }
      applyMetadata(target, entry, true);
    } else if (entry.isSymbolicLink()) {
      Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
      applyMetadata(target, entry, false);
    } else if (entry.isLink()) {
      Path linkTarget = confinedLinkTarget(entry);
      Files.createLink(target, linkTarget); // link(2) does not follow a symlink target
    } else if (entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO()) {
      int type =
          entry.isCharacterDevice()
              ? Syscalls.S_IFCHR
              : entry.isBlockDevice() ? Syscalls.S_IFBLK : Syscalls.S_IFIFO;
      Syscalls.mknod(
          target.toString(), type, entry.getMode(), entry.getDevMajor(), entry.getDevMinor());
      applyMetadata(target, entry, false);
    } else if (entry.isFile()) {
      try (OutputStream out =
          Files.newOutputStream(
              target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, NOFOLLOW)) {
        tar.transferTo(out);
      }
      applyMetadata(target, entry, false);
    } else {
      LOG.debug("skipping tar entry {} of unsupported type", entry.getName());
    }
  }

  private void extractWhiteout(Path parent, String base, TarArchiveEntry entry) throws IOException {
    if (base.equals(OPAQUE)) {
      Syscalls.lsetxattr(
          parent.toString(), "trusted.overlay.opaque", "y".getBytes(StandardCharsets.US_ASCII));
      return;
    }
    if (base.startsWith(WHITEOUT + WHITEOUT)) {
      return; // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): meaningless to overlayfs
    }
    String name = base.substring(WHITEOUT.length());
    if (name.isEmpty() || name.equals(".") || name.equals("..")) {
      throw hostile(entry.getName(), "whiteout of \"" + name + "\"");
    }
    Path target = parent.resolve(name);
    BasicFileAttributes existing = attributesOrNull(target);
    if (existing != null) {
      removeExisting(target, existing);
    }
    Syscalls.mknod(target.toString(), Syscalls.S_IFCHR, 0, 0, 0);
    Syscalls.lchown(target.toString(), entry.getLongUserId(), entry.getLongGroupId());
  }

  /** Splits a tar name into safe path components, refusing absolute names and {@code ..}. */
  static List<String> components(String name) {
    if (name.startsWith("/")) {
      throw hostile(name, "absolute path");
    }
    List<String> result = new ArrayList<>();
    for (String part : name.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        throw hostile(name, "\"..\" component");
      }
      if (part.indexOf('\0') >= 0) {
        throw hostile(name, "NUL in name");
      }
      result.add(part);
    }
    return result;
  }

  /** Walks (creating as needed) the parent directories, refusing any that is not a directory. */
  private Path ensureParents(List<String> parents, String entryName) throws IOException {
    Path dir = root;
    for (String part : parents) {
      dir = dir.resolve(part);
      BasicFileAttributes attrs = attributesOrNull(dir);
      if (attrs == null) {
        Files.createDirectory(dir);
      } else if (attrs.isSymbolicLink()) {
        throw hostile(entryName, "parent \"" + root.relativize(dir) + "\" is a symlink");
      } else if (!attrs.isDirectory()) {
        throw hostile(entryName, "parent \"" + root.relativize(dir) + "\" is not a directory");
      }
    }
    return dir;
  }

  private Path confinedLinkTarget(TarArchiveEntry entry) throws IOException {
    List<String> components = components(entry.getLinkName());
    if (components.isEmpty()) {
      throw hostile(entry.getName(), "hardlink to the layer root");
    }
    Path parent = root;
    for (String part : components.subList(0, components.size() - 1)) {
      parent = parent.resolve(part);
      BasicFileAttributes attrs = attributesOrNull(parent);
      if (attrs == null || !attrs.isDirectory() || attrs.isSymbolicLink()) {
        throw hostile(
            entry.getName(), "hardlink target \"" + entry.getLinkName() + "\" is not in the layer");
      }
    }
    Path target = parent.resolve(components.get(components.size() - 1));
    BasicFileAttributes attrs = attributesOrNull(target);
    if (attrs == null || attrs.isDirectory()) {
      throw hostile(
          entry.getName(),
          "hardlink target \"" + entry.getLinkName() + "\" is not a file earlier in the layer");
    }
    return target;
  }

  private void applyMetadata(Path path, TarArchiveEntry entry, boolean directory)
      throws IOException {
    String p = path.toString();
    Syscalls.lchown(p, entry.getLongUserId(), entry.getLongGroupId());
    if (!entry.isSymbolicLink()) {
      // after chown, which clears setuid/setgid
      Syscalls.chmod(p, entry.getMode());
    }
    for (Map.Entry<String, String> header : entry.getExtraPaxHeaders().entrySet()) {
      if (header.getKey().startsWith(XATTR_PAX)) {
        setXattr(path, header.getKey().substring(XATTR_PAX.length()), header.getValue(), entry);
      }
    }
    FileTime mtime = entry.getLastModifiedTime();
    if (mtime != null) {
      if (directory) {
        directoryTimes.add(Map.entry(path, mtime));
      } else {
        setTime(path, mtime);
      }
    }
  }

  private static void setXattr(Path path, String name, String value, TarArchiveEntry entry) {
    // commons-compress decodes PAX values as UTF-8: a value that was not UTF-8 came back with
    // replacement characters and would be written corrupted. Better missing than wrong.
    if (value.indexOf('\uFFFD') >= 0) {
      LOG.warn(
          "dropping xattr {} of {}: its binary value did not survive the tar reader",
          name,
          entry.getName());
      return;
    }
    try {
      Syscalls.lsetxattr(path.toString(), name, value.getBytes(StandardCharsets.UTF_8));
    } catch (SyscallException e) {
      if (e.errno() != Syscalls.Errno.ENOTSUP) {
        throw e;
      }
      LOG.warn("dropping xattr {} of {}: not supported here", name, entry.getName());
    }
  }

  private static void setTime(Path path, FileTime time) {
    long nanos = time.to(java.util.concurrent.TimeUnit.NANOSECONDS);
    Syscalls.lutimes(
        path.toString(),
        Math.floorDiv(nanos, 1_000_000_000L),
        Math.floorMod(nanos, 1_000_000_000L));
  }

  private void removeExisting(Path target, BasicFileAttributes existing) throws IOException {
    if (existing.isDirectory()) {
      FileTrees.delete(target);
      directoryTimes.removeIf(e -> e.getKey().startsWith(target));
    } else {
      Files.delete(target);
    }
  }

  private static BasicFileAttributes attributesOrNull(Path path) throws IOException {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class, NOFOLLOW);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private static CriException hostile(String name, String problem) {
    return CriException.invalid(
        "layer",
        "refusing tar entry \""
            + name
            + "\": "
            + problem
            + " (an entry must stay inside the layer; the image is malformed or hostile)");
  }
}
