package io.spawnlet.cli;

import io.spawnlet.cri.storage.Image;
import io.spawnlet.cri.storage.ImageImporter;
import io.spawnlet.cri.storage.ImageStore;
import io.spawnlet.cri.storage.LayerStore;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import runtime.v1.AuthConfig;
import runtime.v1.ImageSpec;
import runtime.v1.ListImagesRequest;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveImageRequest;

/** {@code spawnlet image}: import, list and remove images of the node's store. */
@Command(
    name = "image",
    mixinStandardHelpOptions = true,
    description = "Manage images in spawnlet's store.",
    subcommands = {
      ImageCommand.Pull.class,
      ImageCommand.Import.class,
      ImageCommand.Ls.class,
      ImageCommand.Rm.class
    })
final class ImageCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(),
        "Missing subcommand: pull, import, ls or rm (try 'spawnlet image --help')");
  }

  /** Works on the store directly (file-locked), so the daemon need not run. */
  @Command(
      name = "import",
      mixinStandardHelpOptions = true,
      description = {
        "Import an image into the store.",
        "SRC: an OCI layout directory (DIR or DIR:tag, e.g. from 'skopeo copy ... oci:DIR:tag'),",
        "an OCI archive tar, a root filesystem directory (debootstrap/mmdebstrap), or a",
        "root filesystem tarball (.tar, .tar.gz, .tar.zst)."
      })
  static final class Import implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SRC")
    String source;

    @Option(
        names = "--name",
        required = true,
        paramLabel = "REF",
        description = "Reference to tag the image with, e.g. docker.io/library/debian:bookworm.")
    String name;

    @Option(
        names = "--root",
        defaultValue = "/var/lib/spawnlet",
        description = "spawnlet state directory (default: ${DEFAULT-VALUE}).")
    Path root;

    @Override
    public Integer call() {
      Path storage = root.resolve("storage");
      ImageStore store = new ImageStore(storage, new LayerStore(storage));
      Image image = new ImageImporter(store, storage.resolve("tmp")).importImage(source, name);
      System.out.println(image.digestId());
      return 0;
    }
  }

  @Command(
      name = "pull",
      mixinStandardHelpOptions = true,
      description = {
        "Pull an image from its registry (asks the daemon, which logs per-layer progress).",
        "Credentials: --creds, else the daemon's registry auth file."
      })
  static final class Pull implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REF", description = "e.g. busybox, host:5000/x:tag")
    String ref;

    @Option(names = "--creds", paramLabel = "USER:PASSWORD", description = "Registry credentials.")
    String creds;

    @CommandLine.Mixin DaemonSocket daemon;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      PullImageRequest.Builder request =
          PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref));
      if (creds != null) {
        int colon = creds.indexOf(':');
        if (colon < 0) {
          throw new CommandLine.ParameterException(
              spec.commandLine(), "--creds: expected USER:PASSWORD");
        }
        request.setAuth(
            AuthConfig.newBuilder()
                .setUsername(creds.substring(0, colon))
                .setPassword(creds.substring(colon + 1)));
      }
      try (CriClient cri = daemon.connect()) {
        System.out.println(cri.images().pullImage(request.build()).getImageRef());
      }
      return 0;
    }
  }

  @Command(
      name = "ls",
      mixinStandardHelpOptions = true,
      description = "List images (asks the daemon).")
  static final class Ls implements Callable<Integer> {
    @CommandLine.Mixin DaemonSocket daemon;

    @Override
    public Integer call() {
      try (CriClient cri = daemon.connect()) {
        var images = cri.images().listImages(ListImagesRequest.getDefaultInstance());
        String fmt = "%-60s  %-19s  %10s%n";
        System.out.printf(fmt, "REFERENCE", "IMAGE ID", "SIZE");
        for (var i : images.getImagesList()) {
          String id = i.getId().replace("sha256:", "").substring(0, 12);
          if (i.getRepoTagsCount() == 0) {
            System.out.printf(fmt, "<none>", id, i.getSize());
          }
          for (String tag : i.getRepoTagsList()) {
            System.out.printf(fmt, tag, id, i.getSize());
          }
        }
      }
      return 0;
    }
  }

  @Command(
      name = "rm",
      mixinStandardHelpOptions = true,
      description =
          "Remove an image by reference or id (asks the daemon; refused while a container uses it).")
  static final class Rm implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REF")
    String ref;

    @CommandLine.Mixin DaemonSocket daemon;

    @Override
    public Integer call() {
      try (CriClient cri = daemon.connect()) {
        cri.images()
            .removeImage(
                RemoveImageRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(ref))
                    .build());
      }
      System.out.println("removed " + ref);
      return 0;
    }
  }
}
