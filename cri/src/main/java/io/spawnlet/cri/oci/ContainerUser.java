package io.spawnlet.cri.oci;

import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The uid, gid and additional gids a container process runs as, resolved the way the kubelet and
 * container runtimes do: numeric ids are used as they are; names are looked up in the container's
 * own {@code /etc/passwd} and {@code /etc/group} (never the host's); a user without an explicit
 * group gets its primary group from passwd (0 when it has no entry); the user's memberships in
 * /etc/group are added to the supplemental groups.
 */
public record ContainerUser(long uid, long gid, List<Long> additionalGids) {

  private record PasswdEntry(String name, long uid, long gid) {}

  /**
   * @param user "uid", "name", "uid:gid", "name:group" or "" (root), from the CRI or the image
   * @param explicitGid run_as_group from the CRI, if set (it wins over the user string's group)
   * @param supplemental CRI supplemental groups
   */
  public static ContainerUser resolve(
      Path rootfs, String user, Optional<Long> explicitGid, List<Long> supplemental) {
    String userPart = user;
    String groupPart = null;
    int colon = user.indexOf(':');
    if (colon >= 0) {
      userPart = user.substring(0, colon);
      groupPart = user.substring(colon + 1);
    }
    List<PasswdEntry> passwd = readPasswd(rootfs);
    long uid;
    Optional<PasswdEntry> entry;
    if (userPart.isEmpty()) {
      uid = 0;
      entry = passwd.stream().filter(p -> p.uid() == 0).findFirst();
    } else if (isNumber(userPart)) {
      uid = Long.parseLong(userPart);
      entry = passwd.stream().filter(p -> p.uid() == uid).findFirst();
    } else {
      String name = userPart;
      entry = passwd.stream().filter(p -> p.name().equals(name)).findFirst();
      uid =
          entry
              .orElseThrow(
                  () ->
                      CriException.invalid(
                          "run_as_username",
                          "user \""
                              + name
                              + "\" is not in the image's /etc/passwd: use a numeric uid or add"
                              + " the user to the image"))
              .uid();
    }
    List<String[]> groups = readGroups(rootfs);
    long gid;
    if (explicitGid.isPresent()) {
      gid = explicitGid.get();
    } else if (groupPart != null && !groupPart.isEmpty()) {
      gid = isNumber(groupPart) ? Long.parseLong(groupPart) : groupId(groups, groupPart);
    } else {
      gid = entry.map(PasswdEntry::gid).orElse(0L);
    }
    Set<Long> additional = new LinkedHashSet<>();
    entry.ifPresent(
        e -> {
          for (String[] g : groups) {
            if (g.length >= 4 && List.of(g[3].split(",")).contains(e.name()) && isNumber(g[2])) {
              additional.add(Long.parseLong(g[2]));
            }
          }
        });
    additional.addAll(supplemental);
    additional.remove(gid);
    return new ContainerUser(uid, gid, List.copyOf(additional));
  }

  private static long groupId(List<String[]> groups, String name) {
    for (String[] g : groups) {
      if (g.length >= 3 && g[0].equals(name) && isNumber(g[2])) {
        return Long.parseLong(g[2]);
      }
    }
    throw CriException.invalid(
        "user", "group \"" + name + "\" is not in the image's /etc/group: use a numeric gid");
  }

  private static List<PasswdEntry> readPasswd(Path rootfs) {
    List<PasswdEntry> out = new ArrayList<>();
    for (String[] f : readColonFile(rootfs.resolve("etc/passwd"))) {
      if (f.length >= 4 && isNumber(f[2]) && isNumber(f[3])) {
        out.add(new PasswdEntry(f[0], Long.parseLong(f[2]), Long.parseLong(f[3])));
      }
    }
    return out;
  }

  private static List<String[]> readGroups(Path rootfs) {
    return readColonFile(rootfs.resolve("etc/group"));
  }

  private static List<String[]> readColonFile(Path file) {
    // A symlink in the image could point anywhere on the host: only read regular files.
    if (!Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return List.of();
    }
    try {
      List<String[]> out = new ArrayList<>();
      for (String line : Files.readAllLines(file)) {
        if (!line.isBlank() && !line.startsWith("#")) {
          out.add(line.split(":", -1));
        }
      }
      return out;
    } catch (IOException e) {
      return List.of();
    }
  }

  private static boolean isNumber(String s) {
    return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
  }
}
