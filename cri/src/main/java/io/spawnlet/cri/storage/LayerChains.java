package io.spawnlet.cri.storage;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.BtrfsSubvolumes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The btrfs driver's layers: one read-only subvolume per layer chain, holding the image's files as
 * they are with that layer and every one below it applied.
 *
 * <pre>
 * root/btrfs/layers/&lt;chainID hex&gt;          read-only subvolume: layer N applied on layer N-1
 * root/btrfs/layers/.tmp-&lt;pid&gt;-&lt;uuid&gt;     a chain being built (a writable snapshot)
 * root/locks/btrfs-layers.lock             held while chains are built or pruned
 * </pre>
 *
 * Chains are named by the OCI chainID (the first layer's diffID; then sha256 of "parent chainID +
 * space + diffID"), so images sharing their lower layers share those subvolumes. Chain N is built
 * as a writable snapshot of chain N-1 with layer N's diff applied ({@link DiffApplier}), then
 * published as a read-only snapshot under its name: a crash leaves only a temp subvolume, deleted
 * at the next open. File data is cloned from the layer store, so a chain costs metadata only.
 */
final class LayerChains {
  private static final Logger LOG = LoggerFactory.getLogger(LayerChains.class);
  private static final String TMP = ".tmp-";

  private final Path chains;
  private final Path lockFile;

  LayerChains(Path root) {
    this.chains = root.resolve("btrfs").resolve("layers");
    this.lockFile = root.resolve("locks").resolve("btrfs-layers.lock");
    try {
      Files.createDirectories(chains);
      Files.createDirectories(lockFile.getParent());
      removeStaleTemps();
    } catch (IOException e) {
      throw CriException.internal("cannot open btrfs layer store " + chains + ": " + e, e);
    }
  }

  /** The chainIDs (hex) of every prefix of {@code diffIds} (bottom first), in order. */
  static List<String> chainIds(List<String> diffIds) {
    List<String> result = new ArrayList<>();
    String chain = null;
    for (String diffId : diffIds) {
      Digest d = Digest.parse("diffId", diffId);
      if (chain == null) {
        chain = d.toString();
      } else {
        MessageDigest sha = Digest.newSha256();
        sha.update((chain + " " + d).getBytes(StandardCharsets.US_ASCII));
        chain = Digest.of(sha).toString();
      }
      result.add(Digest.parse("chainId", chain).hex());
    }
    return result;
  }

  /** The subvolume of the top of {@code bottomFirst}'s chain, building what is missing. */
  Path ensure(List<Layer> bottomFirst) {
    List<String> ids = chainIds(bottomFirst.stream().map(l -> l.diffId().toString()).toList());
    Path top = chains.resolve(ids.get(ids.size() - 1));
    if (Files.isDirectory(top)) {
      return top;
    }
    try (StoreLock lock = StoreLock.acquire(lockFile)) {
      Path parent = null;
      for (int i = 0; i < ids.size(); i++) {
        Path chain = chains.resolve(ids.get(i));
        if (!Files.isDirectory(chain)) {
          build(chain, parent, bottomFirst.get(i));
        }
        parent = chain;
      }
      return top;
    } catch (IOException e) {
      throw CriException.internal("building the btrfs layers of " + top + ": " + e, e);
    }
  }

  private void build(Path chain, Path parent, Layer layer) throws IOException {
    long t0 = System.nanoTime();
    Path tmp = chains.resolve(TMP + ProcessHandle.current().pid() + "-" + UUID.randomUUID());
    try {
      if (parent == null) {
        BtrfsSubvolumes.create(tmp);
      } else {
        BtrfsSubvolumes.snapshot(parent, tmp, false);
      }
      DiffApplier.apply(layer.diff(), tmp);
      BtrfsSubvolumes.snapshot(tmp, chain, true);
      LOG.info(
          "btrfs layer {} (layer {}) built in {} ms",
          chain.getFileName(),
          layer.diffId(),
          (System.nanoTime() - t0) / 1_000_000);
    } finally {
      BtrfsSubvolumes.delete(tmp);
    }
  }

  /** Deletes every chain that no image in {@code images} is built from. */
  void retain(List<Image> images) {
    Set<String> live = new HashSet<>();
    images.forEach(i -> live.addAll(chainIds(i.diffIds())));
    try (StoreLock lock = StoreLock.acquire(lockFile);
        DirectoryStream<Path> all = Files.newDirectoryStream(chains)) {
      for (Path chain : all) {
        String name = chain.getFileName().toString();
        if (Digest.isHex(name) && !live.contains(name)) {
          BtrfsSubvolumes.delete(chain);
          LOG.info("removed btrfs layer {}", name);
        }
      }
    } catch (IOException e) {
      throw CriException.internal("pruning btrfs layers in " + chains + ": " + e, e);
    }
  }

  /**
   * The chains' inodes. Their file data is cloned from the layer store (counted there) and shared
   * between chains, so only the inodes are theirs: the bytes are reported as 0.
   */
  FsUsage usage() {
    return new FsUsage(0, FsUsage.of(chains).inodes());
  }

  private void removeStaleTemps() throws IOException {
    try (DirectoryStream<Path> temps = Files.newDirectoryStream(chains, TMP + "*")) {
      for (Path tmp : temps) {
        String rest = tmp.getFileName().toString().substring(TMP.length());
        int dash = rest.indexOf('-');
        long pid = -1;
        try {
          pid = dash > 0 ? Long.parseLong(rest.substring(0, dash)) : -1;
        } catch (NumberFormatException e) {
          // not ours: remove it
        }
        if (pid <= 0 || ProcessHandle.of(pid).isEmpty()) {
          LOG.info("removing unfinished btrfs layer {}", tmp);
          BtrfsSubvolumes.delete(tmp);
        }
      }
    }
  }
}
