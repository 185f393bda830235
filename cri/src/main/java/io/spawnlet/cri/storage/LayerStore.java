package io.spawnlet.cri.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unpacked layers, content-addressed by diffID:
 *
 * <pre>
 * root/layers/&lt;diffID hex&gt;/diff         the files (an overlay lower dir)
 * root/layers/&lt;diffID hex&gt;/layer.json   diffID, digest, sizes (written before the rename)
 * root/layers/.tmp-&lt;pid&gt;-&lt;uuid&gt;/       an unpack in progress
 * root/locks/layer-&lt;hex&gt;.lock            one per layer being unpacked or removed
 * </pre>
 *
 * A layer is unpacked into a temp dir and renamed into place when complete and verified, so a crash
 * leaves no half layer; temp dirs of dead processes are removed at open. Unpacks of the same layer
 * — by threads here or by another process such as the CLI import — happen once, under a per-layer
 * file lock.
 */
public final class LayerStore {
  private static final Logger LOG = LoggerFactory.getLogger(LayerStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TMP = ".tmp-";
  private static final String METADATA = "layer.json";

  private final Path layers;
  private final Path locks;

  /** The metadata file's content. */
  record Metadata(String diffId, String digest, long compressedSize, long size) {}

  public LayerStore(Path root) {
    Path abs = root.toAbsolutePath();
    this.layers = abs.resolve("layers");
    this.locks = abs.resolve("locks");
    try {
      Files.createDirectories(layers);
      Files.createDirectories(locks);
      removeStaleTempDirs();
    } catch (IOException e) {
      throw CriException.internal("cannot open layer store " + layers + ": " + e, e);
    }
  }

  /**
   * Returns the layer of {@code blob}, unpacking it unless it is already here. The digests given
   * are verified while streaming; on a mismatch nothing is stored. With neither digest known (a
   * rootfs tarball) the diffID is computed. The caller closes {@code blob}; when the layer is
   * already present the blob is not read at all.
   *
   * @param digest the blob's digest as a registry or manifest names it (compressed)
   * @param diffId the digest of the uncompressed tar, from the image config's rootfs.diff_ids
   */
  public Layer ensureLayer(
      InputStream blob, Compression compression, Optional<Digest> digest, Optional<Digest> diffId) {
    Optional<String> lockKey = diffId.or(() -> digest).map(Digest::hex);
    try {
      if (lockKey.isEmpty()) {
        return unpack(blob, compression, digest, diffId);
      }
      try (StoreLock lock = lockFor(lockKey.get())) {
        Optional<Layer> present =
            diffId.isPresent() ? get(diffId.get()) : findByDigest(digest.get());
        if (present.isPresent()) {
          LOG.debug("layer {} already present", present.get().diffId());
          return present.get();
        }
        return unpack(blob, compression, digest, diffId);
      }
    } catch (IOException e) {
      throw CriException.internal(
          "unpacking layer " + diffId.or(() -> digest).map(Digest::toString).orElse("") + ": " + e,
          e);
    }
  }

  private Layer unpack(
      InputStream blob, Compression compression, Optional<Digest> digest, Optional<Digest> diffId)
      throws IOException {
    Path tmp = layers.resolve(TMP + ProcessHandle.current().pid() + "-" + UUID.randomUUID());
    Files.createDirectory(tmp);
    try {
      Path diff = tmp.resolve("diff");
      Files.createDirectory(diff);
      MessageDigest blobSha = Digest.newSha256();
      MessageDigest tarSha = Digest.newSha256();
      CountingStream blobCount = new CountingStream(new DigestInputStream(blob, blobSha));
      InputStream decompressed = compression.decompress(blobCount);
      CountingStream tarCount = new CountingStream(new DigestInputStream(decompressed, tarSha));
      TarArchiveInputStream tar = new TarArchiveInputStream(tarCount, "UTF-8");
      new LayerExtractor(diff).extract(tar);
      // the digests cover every byte: the tar's trailing blocks and the compressor's end too
      tarCount.transferTo(java.io.OutputStream.nullOutputStream());
      blobCount.transferTo(java.io.OutputStream.nullOutputStream());
      Digest actualDiffId = Digest.of(tarSha);
      Digest actualDigest = compression == Compression.NONE ? actualDiffId : Digest.of(blobSha);
      verify("layer digest", digest, actualDigest);
      verify("layer diffID", diffId, actualDiffId);
      Metadata metadata =
          new Metadata(
              actualDiffId.toString(),
              actualDigest.toString(),
              blobCount.count(),
              tarCount.count());
      AtomicFiles.write(tmp.resolve(METADATA), JSON.writeValueAsBytes(metadata));
      try (StoreLock lock = lockFor(actualDiffId.hex())) {
        Optional<Layer> present = get(actualDiffId);
        if (present.isPresent()) {
          return present.get(); // another unpack of the same content won; ours is dropped below
        }
        Files.move(tmp, layers.resolve(actualDiffId.hex()), StandardCopyOption.ATOMIC_MOVE);
        syncDirectory(layers);
        LOG.info(
            "unpacked layer {} ({} bytes, {} compressed)",
            actualDiffId,
            tarCount.count(),
            blobCount.count());
        return toLayer(metadata, layers.resolve(actualDiffId.hex()));
      }
    } finally {
      FileTrees.delete(tmp);
    }
  }

  private static void verify(String what, Optional<Digest> expected, Digest actual) {
    if (expected.isPresent() && !expected.get().equals(actual)) {
      throw CriException.invalid(
          what,
          "content has "
              + actual
              + " but "
              + expected.get()
              + " was expected; the blob is corrupt or not the one named (nothing was stored)");
    }
  }

  /** The layer with this diffID, if it is fully unpacked here. */
  public Optional<Layer> get(Digest diffId) {
    Path dir = layers.resolve(diffId.hex());
    try {
      Metadata metadata = JSON.readValue(dir.resolve(METADATA).toFile(), Metadata.class);
      return Optional.of(toLayer(metadata, dir));
    } catch (java.io.FileNotFoundException | NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw CriException.internal("reading layer metadata in " + dir + ": " + e, e);
    }
  }

  /** Every complete layer. */
  public List<Layer> list() {
    List<Layer> result = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(layers)) {
      for (Path dir : dirs) {
        String name = dir.getFileName().toString();
        if (Digest.isHex(name)) {
          get(new Digest(name)).ifPresent(result::add);
        }
      }
    } catch (IOException e) {
      throw CriException.internal("listing layers in " + layers + ": " + e, e);
    }
    return result;
  }

  private Optional<Layer> findByDigest(Digest digest) {
    return list().stream().filter(l -> l.digest().equals(digest)).findFirst();
  }

  /**
   * Deletes a layer (idempotent). It is first renamed out of the way, so a crash mid-delete leaves
   * only a temp dir that the next open removes. The caller ensures no image references it.
   */
  public void remove(Digest diffId) {
    Path dir = layers.resolve(diffId.hex());
    try (StoreLock lock = lockFor(diffId.hex())) {
      if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      Path doomed = layers.resolve(TMP + ProcessHandle.current().pid() + "-" + UUID.randomUUID());
      Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
      FileTrees.delete(doomed);
      LOG.info("removed layer {}", diffId);
    } catch (IOException e) {
      throw CriException.internal("removing layer " + dir + ": " + e, e);
    }
  }

  /** Bytes and inodes under the layer store. */
  public FsUsage usage() {
    return FsUsage.of(layers);
  }

  Path layersDir() {
    return layers;
  }

  private StoreLock lockFor(String hex) throws IOException {
    return StoreLock.acquire(locks.resolve("layer-" + hex + ".lock"));
  }

  private static Layer toLayer(Metadata m, Path dir) {
    return new Layer(
        Digest.parse("diffId", m.diffId()),
        Digest.parse("digest", m.digest()),
        m.compressedSize(),
        m.size(),
        dir.resolve("diff"));
  }

  private void removeStaleTempDirs() throws IOException {
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(layers, TMP + "*")) {
      for (Path dir : dirs) {
        String rest = dir.getFileName().toString().substring(TMP.length());
        int dash = rest.indexOf('-');
        long pid = dash > 0 ? parsePid(rest.substring(0, dash)) : -1;
        // a live process may be unpacking into it right now (the daemon and the CLI share a store)
        if (pid <= 0 || ProcessHandle.of(pid).isEmpty()) {
          LOG.info("removing unfinished layer dir {}", dir);
          FileTrees.delete(dir);
        }
      }
    }
  }

  private static long parsePid(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Counts the bytes read through it. */
  private static final class CountingStream extends FilterInputStream {
    private long count;

    CountingStream(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      // skipping would bypass the digest: read instead
      byte[] buf = new byte[(int) Math.min(n, 8192)];
      int read = read(buf, 0, buf.length);
      return Math.max(read, 0);
    }

    @Override
    public boolean markSupported() {
      return false;
    }

    long count() {
      return count;
    }
  }
}
